import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { freshDatabase } from '../helpers/db.js';
import { serviceEnv } from '../helpers/env.js';
import { ExitCode } from '../../src/core/errors.js';

const services = serviceEnv();
const dir = mkdtempSync(join(tmpdir(), 'movies-ldc-'));
const fixture = join(dir, 'one.json');
writeFileSync(
  fixture,
  JSON.stringify([
    { model: 'movies.filmwork', pk: '00000000-0000-4000-8000-00000000000a', fields: { title: 'Stalker', film_type: 'movie', indexed_at: '2020-01-01T00:00:00Z' } },
  ]),
);

describe('loaddata on a catalogue with columns movies does not write', () => {
  let h: Awaited<ReturnType<typeof freshDatabase>>;
  before(async () => (h = await freshDatabase(services.DATABASE_URL, 'movies_ldc')));
  after(() => h.drop());

  it('a NOT NULL column without a default fails the load before anything is written, naming schema.table.column (exit 4)', async () => {
    await h.db.raw('ALTER TABLE content.film_work ADD COLUMN studio text NOT NULL');
    const r = await runCli(['loaddata', fixture], { DATABASE_URL: h.url });
    assert.equal(r.code, ExitCode.invalidData, r.stderr);
    assert.match(r.stderr, /content\.film_work\.studio is NOT NULL without a default/);
    const n = await h.db.raw('SELECT (SELECT count(*) FROM content.film_work)::int AS films, (SELECT count(*) FROM movies.film_work_change)::int AS queued');
    assert.deepEqual(n.rows[0], { films: 0, queued: 0 });
  });

  it('with a default (or NULL allowed) the same column is no obstacle, and the fixture loads', async () => {
    await h.db.raw("ALTER TABLE content.film_work ALTER COLUMN studio SET DEFAULT 'unknown'");
    const r = await runCli(['loaddata', fixture], { DATABASE_URL: h.url });
    assert.equal(r.code, ExitCode.ok, r.stderr);
    const row = await h.db('content.film_work').first('title', 'studio');
    assert.deepEqual(row, { title: 'Stalker', studio: 'unknown' });
  });

  it('refuses a catalogue other than the default one, whose tables its statements do not name', async () => {
    const r = await runCli(['--schema', 'elsewhere', 'loaddata', fixture], { DATABASE_URL: h.url });
    assert.equal(r.code, ExitCode.usage, r.stderr);
    assert.match(r.stderr, /capture was installed for the catalogue in schema content|writes the default catalogue/);
  });
});
