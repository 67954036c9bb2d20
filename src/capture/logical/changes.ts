import type { Pgoutput } from 'pg-logical-replication';
import { ENTITY_NAMES, type Catalogue, type Entity } from '../../catalogue/layout.js';

/** One row change of a catalogue table, as the log tells it: the new row, or the old row's key (or the whole old row under REPLICA IDENTITY FULL). */
export type RowChange =
  | { op: 'insert'; entity: Entity; row: Row }
  | { op: 'update'; entity: Entity; row: Row; old: Row | null }
  | { op: 'delete'; entity: Entity; old: Row }
  | { op: 'truncate'; entities: Entity[] };

/** Column values by the catalogue's own column names; undefined for an unchanged TOASTed value the log left out. */
export type Row = Record<string, unknown>;

/** One committed transaction of the slot with its changes to catalogue tables. */
export interface SlotTransaction {
  /** The end of its commit record: once the queues have it, the slot may move past it. */
  endLsn: string;
  changes: RowChange[];
}

/**
 * Turns the slot's pgoutput messages (parsed by pg-logical-replication, ./stream.ts) into
 * committed transactions of catalogue changes. Tables are told apart by schema and name, so only
 * the catalogue's count, whatever else the publication holds.
 */
export class ChangeReader {
  private readonly tables = new Map<string, Entity>();
  private open: RowChange[] | undefined;

  constructor(cat: Catalogue) {
    for (const e of ENTITY_NAMES) this.tables.set(`${cat.schema}\u0000${cat.layout[e].table}`, e);
  }

  private entityOf(r: Pgoutput.MessageRelation): Entity | undefined {
    return this.tables.get(`${r.schema}\u0000${r.name}`);
  }

  /** Whether a transaction has begun and its commit has not come yet. */
  get inTransaction(): boolean {
    return this.open !== undefined;
  }

  /** One message, parsed (a stream's); a transaction when it was the commit. */
  take(m: Pgoutput.Message): SlotTransaction | undefined {
    switch (m.tag) {
      case 'begin':
        this.open = [];
        return undefined;
      case 'commit': {
        const changes = this.open ?? [];
        this.open = undefined;
        return { endLsn: m.commitEndLsn!, changes };
      }
      case 'insert': {
        const entity = this.entityOf(m.relation);
        if (entity) this.open?.push({ op: 'insert', entity, row: m.new });
        return undefined;
      }
      case 'update': {
        const entity = this.entityOf(m.relation);
        if (entity) this.open?.push({ op: 'update', entity, row: m.new, old: m.old ?? m.key ?? null });
        return undefined;
      }
      case 'delete': {
        const entity = this.entityOf(m.relation);
        const old = m.old ?? m.key;
        if (entity && old) this.open?.push({ op: 'delete', entity, old });
        return undefined;
      }
      case 'truncate': {
        const entities = m.relations.map((r) => this.entityOf(r)).filter((e): e is Entity => e !== undefined);
        if (entities.length) this.open?.push({ op: 'truncate', entities });
        return undefined;
      }
      default:
        return undefined;
    }
  }
}
