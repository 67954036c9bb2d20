/*
 * The concrete index behind an alias is named after it and the time it was created, to the
 * millisecond (movies_20261128t191200123z): names sort by age, and two builds never collide.
 * While it is built, it is written through a second alias of its own, so that the same
 * require_alias rule protects the build from writing into an index created by its own writes.
 */
export function physicalName(alias: string, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:.]/g, '').toLowerCase();
  return `${alias}_${stamp}`;
}

export const buildAlias = (physical: string): string => `${physical}.building`;
