import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './cli.js';
import { freshDatabase } from './db.js';
import { deleteIndex } from './engine.js';
import { serviceEnv } from './env.js';
import type { Engine } from './engines.js';

/**
 * A fresh database with a small generated catalogue and no index yet, for tests of the index
 * lifecycle (init-es, rollback) that drive the CLI themselves. Every index name carries a prefix
 * of its own, so `<prefix>genres` and the others never meet another suite's.
 */
export async function aliasCatalogue(engine: Engine, o: { name: string; films?: number; only?: string }) {
  const h = await freshDatabase(serviceEnv().DATABASE_URL);
  const prefix = `${o.name}_${engine.name}_${process.pid}_`;
  const env = { DATABASE_URL: h.url, ELASTICSEARCH_URL: engine.url, MOVIES_INDEX_PREFIX: prefix, MOVIES_ONLY: o.only ?? 'genres' };
  const file = join(mkdtempSync(join(tmpdir(), 'movies-')), 'catalogue.json');
  for (const args of [['generate', '--films', String(o.films ?? 60), '--seed', '5', '--out', file], ['loaddata', file]]) {
    const r = await runCli(args, env);
    assert.equal(r.code, 0, `${args[0]}: ${r.stderr}`);
  }
  const cli = (args: string[], extra: Record<string, string> = {}) => runCli(args, { ...env, ...extra });
  return {
    ...h,
    env,
    prefix,
    /** The alias of a logical index (genres, persons, movies). */
    alias: (name: string) => `${prefix}${name}`,
    cli,
    /** Runs a command with --json and returns its result; any exit but 0 fails the test. */
    async json(args: string[], extra: Record<string, string> = {}) {
      const r = await cli(['--json', ...args], extra);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
      return JSON.parse(r.stdout);
    },
    async cleanup() {
      for (const n of ['movies', 'genres', 'persons']) await deleteIndex(engine.url, `${prefix}${n}`);
      await h.drop();
    },
  };
}

/** Whether a concrete index exists on the engine. */
export async function indexExists(base: string, index: string): Promise<boolean> {
  return (await fetch(`${base}/${index}`, { method: 'HEAD' })).status === 200;
}
