export interface TapCounts {
  tests: number;
  pass: number;
  fail: number;
  cancelled: number;
  skipped: number;
  todo: number;
  skips: Array<{ reason: string; n: number }>;
}
export function tapCounts(tap: string): TapCounts;
export function runSuites(o: { nodeBin: string; files: string[]; env: Record<string, string>; tapFile: string }): Promise<TapCounts & { code: number; seconds: number }>;
