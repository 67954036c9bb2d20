/**
 * How far a long piece of work is, as the layers below the CLI report it: they call an
 * `OnProgress` callback and never print; src/cli/progress.ts turns these into a bar or lines.
 */
export interface Progress {
  /** What is being done, named for a person ("reading fixture", "checking references"). A new name starts a new phase. */
  phase: string;
  /** The index (alias) the phase works on, when the command works on several. */
  scope?: string;
  /** How far, in `unit`s; absent when the phase cannot say (one long statement). */
  done?: number;
  /** Out of how many `unit`s; absent when not known in advance. */
  total?: number;
  /** What done and total count: `bytes` (shown in MB) or a plural noun ("objects", "films"). */
  unit?: string;
  /** A figure counted as the phase goes, beside done/total: the objects read while bytes give the percent. */
  count?: { n: number; unit: string };
}

export type OnProgress = (p: Progress) => void;
