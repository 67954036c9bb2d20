import type { EngineConfig } from '../config/types.js';

export type EngineAuth = { apiKey: string } | { username: string; password: string } | undefined;

/** The credentials to send; an API key wins over basic auth, for GET / and both clients alike. */
export function engineAuth(cfg: EngineConfig): EngineAuth {
  if (cfg.apiKey) return { apiKey: cfg.apiKey };
  if (cfg.username && cfg.password) return { username: cfg.username, password: cfg.password };
  return undefined;
}
