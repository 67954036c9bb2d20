export function parseEnvFile(text: string): Record<string, string>;
export function readEnvFileSync(path: string): Record<string, string>;
