/**
 * Where a run writes, and whose pending documents it takes. Writes go to an alias with
 * require_alias, so that a deleted index fails them instead of being recreated by them with a
 * dynamic mapping; each item's answer must name `physical`, so that an alias moved to another
 * index under the run acknowledges nothing.
 */
export interface Destination {
  /** movies.etl_target id: whose queue rows the run reads and marks. */
  target: number;
  /** The name bulk actions address. */
  write: string;
  /** The concrete index the target tracks: every acknowledging item names it; its settings are saved under it. */
  physical: string;
  /** False only for a concrete index an earlier version created, until init-es turns it into an alias. */
  viaAlias: boolean;
}
