import assert from 'node:assert/strict';
import { byName } from '../helpers/json.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { HttpFaultProxy } from '../helpers/http-proxy.js';
import { freshDatabase } from '../helpers/db.js';
import { deleteIndex, physicalIndexes } from '../helpers/engine.js';
import { ENGINES, mappingArgs } from '../helpers/engines.js';
import { serviceEnv } from '../helpers/env.js';
import { ExitCode } from '../../src/core/errors.js';
import type { VerifyResult } from '../../src/commands/verify.js';

/*
 * Issue 21 item 18 (verify's counts). Under writers, `verify --repair` printed "2 queued; 63 of
 * those differ": the queue was counted when verify began, the pending differences all through it.
 * The race is made deterministic here: writers change films after verify counted the queue and
 * before it reads the index (the proxy holds verify's refresh of the index while they commit).
 */

const services = serviceEnv();
const engine = ENGINES.find((e) => e.name === 'opensearch') ?? ENGINES[0]!;
const [BEFORE, DURING, DRIFTED] = [2, 63, 3];

describe('verify --repair counts under writers', () => {
  let h: Awaited<ReturnType<typeof freshDatabase>>;
  let env: Record<string, string>;
  let dir: string;
  const prefix = `vc${process.pid}_`;
  const proxy = new HttpFaultProxy(engine.url);

  before(async () => {
    h = await freshDatabase(services.DATABASE_URL, 'movies_vc');
    env = { DATABASE_URL: h.url, ELASTICSEARCH_URL: engine.url, MOVIES_INDEX_PREFIX: prefix };
    dir = mkdtempSync(join(tmpdir(), 'movies-vc-'));
    const file = join(dir, 'catalogue.json');
    for (const args of [['generate', '--films', '150', '--seed', '13', '--out', file], ['loaddata', file], ['init-es', ...mappingArgs(engine)]]) {
      const r = await runCli(args, env);
      assert.equal(r.code, 0, `${args[0]}: ${r.stderr}`);
    }
    await proxy.start();
  });
  after(async () => {
    await proxy.stop();
    await deleteIndex(engine.url, `${prefix}movies`);
    await h.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('says what differed, what it queued and what was already pending, in figures that agree', async () => {
    const films = (await h.db.raw('SELECT id FROM content.film_work ORDER BY id')).rows.map((r: { id: string }) => r.id) as string[];
    const retitle = (ids: string[]) => h.db.raw(`UPDATE content.film_work SET title = title || ' (cut)' WHERE id = ANY(?::uuid[])`, [ids]);
    // Drift: films deleted from the index behind movies' back.
    const physical = (await physicalIndexes(engine.url, `${prefix}movies`))[0]!;
    for (const id of films.slice(0, DRIFTED)) {
      const res = await fetch(`${engine.url}/${physical}/_doc/${id}?refresh=true`, { method: 'DELETE' });
      assert.ok(res.ok, await res.text());
    }
    // Writers: some changes before verify begins, more while it runs (before it reads the index).
    await retitle(films.slice(10, 10 + BEFORE));
    proxy.match = /\/_refresh/;
    proxy.fault = async (_req, forward) => {
      if (proxy.hits === 1) await retitle(films.slice(20, 20 + DURING));
      return forward();
    };

    // In words: no figure is said to be part of a smaller one.
    const text = await runCli(['verify', '--repair'], { ...env, ELASTICSEARCH_URL: proxy.url() });
    assert.equal(text.code, ExitCode.drift, text.stderr);
    const out = text.stdout + text.stderr;
    assert.doesNotMatch(out, /of those/, out);
    assert.match(out, new RegExp(`pending\\s+${BEFORE + DURING} differ from the database but are pending for start-etl \\(not drift\\); ${BEFORE} were pending when verify began, ${BEFORE + DURING + DRIFTED} when it ended`), out);
    assert.match(out, new RegExp(`repaired ${DRIFTED} drifted made pending for start-etl`), out);
    // The same run again, read as JSON.
    await h.db.raw('DELETE FROM movies.film_work_change');
    proxy.hits = 0;
    await retitle(films.slice(10, 10 + BEFORE));
    const r = await runCli(['--json', 'verify', '--repair'], { ...env, ELASTICSEARCH_URL: proxy.url() });
    assert.equal(r.code, ExitCode.drift, r.stderr);
    assert.ok(proxy.hits >= 1, 'the writers ran while verify did');
    const x = byName(JSON.parse(r.stdout).indexes as Array<VerifyResult['indexes'][string]>).movies! as VerifyResult['indexes'][string] & { queuedAtEnd?: number };
    assert.equal(x.drift, DRIFTED, 'found differing: the deleted films');
    assert.deepEqual(x.repaired, { enqueued: DRIFTED, deleted: 0 }, 'queued by --repair: each drifted film');
    assert.equal(x.pending, BEFORE + DURING, 'differing but already pending: the writers\' films');
    assert.equal(x.queued, BEFORE, 'pending when verify began');
    assert.equal(x.queuedAtEnd, BEFORE + DURING + DRIFTED, 'pending when it ended: the writers\' films and the repaired ones');
    const inQueue = Number((await h.db.raw('SELECT count(*) AS n FROM movies.film_work_change')).rows[0].n);
    assert.equal(inQueue, x.queuedAtEnd, 'as the queue says');
  });
});
