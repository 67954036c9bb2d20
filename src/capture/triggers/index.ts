import type { Db } from '../../db/knex.js';
import { ident } from '../../catalogue/names.js';
import type { CaptureMode } from '../mode.js';
import { installCapture, ourTriggers } from './sql.js';
import { recordMode } from '../state.js';

// Installing or dropping a trigger takes a lock that writers of the table wait behind: give up
// soon rather than stall the application behind a long transaction (run the command again).
export const TRIGGER_LOCK_TIMEOUT = '5s';

async function dropTriggers(db: Db): Promise<void> {
  await db.transaction(async (trx) => {
    await trx.raw(`SET LOCAL lock_timeout = '${TRIGGER_LOCK_TIMEOUT}'`);
    for (const t of await ourTriggers(trx)) await trx.raw(`DROP TRIGGER ${ident(t.name)} ON ${t.tbl}`);
  });
}

/** Capture by triggers on the catalogue's tables (./sql.ts): works on every server, paid by the writers. */
export const triggerCapture: CaptureMode = {
  name: 'triggers',
  check: async () => undefined,
  start: async (c) => {
    await c.db.transaction(async (trx) => {
      await trx.raw(`SET LOCAL lock_timeout = '${TRIGGER_LOCK_TIMEOUT}'`);
      await installCapture(trx, c.names);
      await recordMode(trx, 'triggers');
    });
  },
  stop: (c) => dropTriggers(c.db),
  // The triggers queued every change in its own transaction.
  collect: async () => ({ transactions: 0, changes: 0, complete: true }),
  // Nothing to follow: the queues have every change at its commit.
  follow: () => ({ stop: async () => undefined }),
  // Triggers capture in the writer's transaction: nothing is ever lost in between.
  recover: async () => undefined,
  added: async (db) => (await ourTriggers(db)).map((t) => `trigger ${t.tbl}.${t.name}`),
  remove: dropTriggers,
};
