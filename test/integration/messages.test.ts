import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { runCli } from '../helpers/cli.js';
import { freshDatabase } from '../helpers/db.js';
import { deleteIndex, physicalIndexes } from '../helpers/engine.js';
import { serviceEnv } from '../helpers/env.js';
import { ExitCode } from '../../src/core/errors.js';

/*
 * Issue 21, item 18 (part): messages and exit codes say what happened. A refused genre is
 * called a genre; a rebuild that waited out its bound for an open transaction exits with a code
 * of its own (not 6, "another run holds the lock"); an index blocked by the flood-stage disk
 * watermark is said to be so, with how to clear the block. One engine (OpenSearch) is enough:
 * the messages are ours.
 */
const services = serviceEnv();
const engineUrl = services.OPENSEARCH_URL;
const prefix = `msg${process.pid}_`;

async function putSettings(index: string, settings: Record<string, unknown>): Promise<void> {
  const res = await fetch(`${engineUrl}/${index}/_settings`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(settings) });
  assert.equal(res.status, 200, await res.text());
}

describe('messages and codes', () => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let env: Record<string, string>;
  before(async () => {
    db = await freshDatabase(services.DATABASE_URL, 'movies_msg');
    env = { DATABASE_URL: db.url, ELASTICSEARCH_URL: engineUrl, MOVIES_INDEX_PREFIX: prefix, MOVIES_ONLY: 'movies,genres' };
    const file = join(mkdtempSync(join(tmpdir(), 'movies-msg-')), 'catalogue.json');
    for (const args of [['generate', '--films', '20', '--seed', '7', '--out', file], ['loaddata', file], ['init-es']]) {
      const r = await runCli(args, env);
      assert.equal(r.code, 0, `${args[0]}: ${r.stderr}`);
    }
  });
  after(async () => {
    for (const name of ['movies', 'genres']) {
      for (const index of await physicalIndexes(engineUrl, `${prefix}${name}`)) {
        await putSettings(index, { 'index.blocks.write': null, 'index.blocks.read_only_allow_delete': null }).catch(() => undefined);
      }
      await deleteIndex(engineUrl, `${prefix}${name}`);
    }
    await db?.drop();
  });

  it('a genre the engine refuses is called a genre, not a film', async () => {
    const [index] = await physicalIndexes(engineUrl, `${prefix}genres`);
    await putSettings(index!, { 'index.blocks.write': true });
    try {
      await db.db('content.genre').update({ description: db.db.raw("coalesce(description, '') || '.'") });
      const r = await runCli(['--only', 'genres', 'start-etl'], env);
      assert.equal(r.code, ExitCode.engineRejected, `exit ${r.code}: ${r.stderr}`);
      assert.match(r.stderr, /the engine rejected genre [0-9a-f-]{36} \(index, HTTP 403: cluster_block_exception/);
      assert.doesNotMatch(r.stderr, /film/);
    } finally {
      await putSettings(index!, { 'index.blocks.write': null });
    }
    assert.equal((await runCli(['--only', 'genres', 'start-etl'], env)).code, 0);
  });

  it('an index blocked by the flood-stage watermark: says the disk is full and how to clear the block', async () => {
    const [index] = await physicalIndexes(engineUrl, `${prefix}movies`);
    await putSettings(index!, { 'index.blocks.read_only_allow_delete': true });
    try {
      await db.db('content.film_work').update({ description: db.db.raw("coalesce(description, '') || '.'") });
      const r = await runCli(['--max-retry-time', '1', '--only', 'movies', 'start-etl'], env);
      assert.equal(r.code, ExitCode.connection, `exit ${r.code}: ${r.stderr}`);
      assert.match(r.stderr, /error: .*the engine's disk is full: index \S+ is blocked by the flood-stage disk watermark/);
      assert.ok(r.stderr.includes(`PUT ${index}/_settings {"index.blocks.read_only_allow_delete": null}`), r.stderr);
    } finally {
      await putSettings(index!, { 'index.blocks.read_only_allow_delete': null });
    }
    assert.equal((await runCli(['--only', 'movies', 'start-etl'], env)).code, 0);
  });

  it('init-es held up by an open transaction exits 12 (timed out waiting for another session), not 6', async () => {
    const client = new pg.Client({ connectionString: db.url, application_name: 'msg-test-open-transaction' });
    await client.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT 1');
      const r = await runCli(['--max-retry-time', '1', '--only', 'genres', 'init-es'], env);
      assert.equal(r.code, ExitCode.waitTimedOut, `exit ${r.code}: ${r.stderr}`);
      assert.equal(ExitCode.waitTimedOut, 12);
      assert.match(r.stderr, /transaction\(s\) older than the new index's registration are still open \(pid \d+, msg-test-open-transaction/);
    } finally {
      await client.query('ROLLBACK').catch(() => undefined);
      await client.end();
    }
  });
});
