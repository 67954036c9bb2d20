/** A --json `indexes` array (docs/json.md) keyed by each index's name, for tests that look one up. */
export function byName<T extends { name: string }>(indexes: T[]): Record<string, T> {
  return Object.fromEntries(indexes.map((i) => [i.name, i]));
}
