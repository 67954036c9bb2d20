import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './cli.js';
import { freshDatabase, TIMEOUTS } from './db.js';
import { collectAll } from '../../src/capture/modes.js';
import { resolveCatalogue } from '../../src/catalogue/resolve.js';
import { names } from '../../src/catalogue/names.js';
import { allDocs, clusterOf, deleteIndex } from './engine.js';
import { aliasLock, type LockName } from '../../src/db/lock.js';
import { canonical, truth } from './truth.js';
import { serviceEnv } from './env.js';
import type { Engine } from './engines.js';
import type { Capture } from './captures.js';
import type { CaptureName } from '../../src/capture/mode.js';

export type Catalogue = Awaited<ReturnType<typeof freshDatabase>> & {
  env: Record<string, string>;
  engineUrl: string;
  index: string;
  cleanup(): Promise<void>;
};

/** A fresh database with a generated catalogue, fully indexed into a fresh index. */
export async function indexedCatalogue(o: { databaseUrl: string; engineUrl: string; films: number; seed: number; index: string; mapping?: string; capture?: CaptureName }): Promise<Catalogue> {
  const h = await freshDatabase(o.databaseUrl, undefined, o.capture);
  const env = { DATABASE_URL: h.url, ELASTICSEARCH_URL: o.engineUrl, MOVIES_INDEX: o.index, MOVIES_ONLY: 'movies' };
  const file = join(mkdtempSync(join(tmpdir(), 'movies-')), 'catalogue.json');
  try {
    for (const args of [
      ['generate', '--films', String(o.films), '--seed', String(o.seed), '--out', file],
      ['loaddata', file],
      ['init-es', ...(o.mapping ? ['--mapping', o.mapping] : [])],
      ['start-etl', '--batch', '100'],
    ]) {
      const r = await runCli(args, env);
      assert.equal(r.code, 0, `${args[0]}: ${r.stderr}`);
    }
  } catch (err) {
    // A failed setup must not leave its database behind: nobody would get a cleanup() to call.
    await deleteIndex(o.engineUrl, o.index);
    await h.drop();
    throw err;
  }
  return {
    ...h,
    env,
    engineUrl: o.engineUrl,
    index: o.index,
    async cleanup() {
      await deleteIndex(o.engineUrl, o.index);
      await h.drop();
    },
  };
}

/** indexedCatalogue on one of the suites' engines, with its mapping, named `movies_<name>_<engine>[_logical]_<pid>`. */
export function engineCatalogue(engine: Engine, o: { films: number; seed: number; name: string; capture?: Capture }): Promise<Catalogue> {
  const mode = o.capture?.mode ?? 'triggers';
  return indexedCatalogue({
    databaseUrl: o.capture?.databaseUrl ?? serviceEnv().DATABASE_URL,
    engineUrl: engine.url,
    mapping: engine.mapping,
    films: o.films,
    seed: o.seed,
    index: `movies_${o.name}_${engine.name}${mode === 'triggers' ? '' : `_${mode}`}_${process.pid}`,
    capture: mode,
  });
}

/** The whole index equals the independent reading of the database, document by document. */
export async function assertIndexMatchesDatabase(c: Catalogue, context = ''): Promise<void> {
  const [docs, expected] = await Promise.all([allDocs(c.engineUrl, c.index), truth(c.db)]);
  const extra = [...docs.keys()].filter((id) => !expected.has(id));
  const missing = [...expected.keys()].filter((id) => !docs.has(id));
  assert.deepEqual({ extra, missing }, { extra: [], missing: [] }, `${context} index and database hold the same films`);
  for (const [id, want] of expected) {
    assert.equal(canonical(docs.get(id)!.source), canonical(want), `${context} document ${id}`);
  }
}

/**
 * Moves what capture holds into the queues, as a run does first (logical capture: the slot;
 * triggers: nothing to move), so that "pending" means every change committed until now.
 */
export async function collectCaptured(c: Pick<Catalogue, 'db' | 'url'>): Promise<void> {
  const catalogue = resolveCatalogue({});
  await collectAll({ db: c.db, databaseUrl: c.url, timeouts: TIMEOUTS, catalogue, names: names(catalogue) });
}

/** How many films are pending now (captured and not yet indexed). */
export async function pendingCount(c: Catalogue): Promise<number> {
  await collectCaptured(c);
  return Number((await c.db.raw('SELECT count(*)::int AS n FROM movies.film_work_change')).rows[0].n);
}

/**
 * Never a false acknowledgement: every film that is no longer pending has its exact document
 * in the index. Returns how many films are still pending.
 */
export async function assertNothingFalselyMarked(c: Catalogue): Promise<number> {
  await collectCaptured(c);
  const pending = new Set((await c.db('movies.film_work_change').select('film_work_id')).map((r) => r.film_work_id as string));
  const [docs, expected] = await Promise.all([allDocs(c.engineUrl, c.index), truth(c.db)]);
  for (const [id, want] of expected) {
    if (pending.has(id)) continue;
    assert.equal(canonical(docs.get(id)?.source ?? {}), canonical(want), `film ${id} is marked indexed but its document is stale`);
  }
  return pending.size;
}

/** The run lock a start-etl on this catalogue's index takes (another run holding it makes start-etl exit 6). */
export async function runLockOf(c: Catalogue): Promise<LockName> {
  return aliasLock('run', await clusterOf(c.engineUrl), c.index);
}
