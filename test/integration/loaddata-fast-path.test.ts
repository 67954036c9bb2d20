import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { runCli } from '../helpers/cli.js';
import { freshDatabase } from '../helpers/db.js';
import { serviceEnv } from '../helpers/env.js';
import { loadFixtures } from '../../src/django/load.js';
import type { Db } from '../../src/db/knex.js';
import { ExitCode } from '../../src/core/errors.js';

/*
 * loaddata's fast path (src/django/fast-path.ts, fast-upsert.ts): the upsert with the triggers off
 * must leave exactly the rows and queue entries the trigger path leaves, and must not run where it
 * would skip someone's trigger or where the role may not turn triggers off.
 */

const services = serviceEnv();
const id = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
const G1 = id(0x101), G2 = id(0x102);
const [P1, P2, P3, P4, P5, P6] = [1, 2, 3, 4, 5, 6].map((n) => id(0x200 + n)) as [string, string, string, string, string, string];
const F = (n: number) => id(0x300 + n);
const L1 = id(0x401), L2 = id(0x402), L3 = id(0x403);
const K1 = id(0x501), K2 = id(0x502), K3 = id(0x503), K4 = id(0x504);
const FIRST_FILMS = [1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12];

type Obj = { model: string; pk: string; fields: Record<string, unknown> };
const genre = (pk: string, name: string, description = ''): Obj => ({ model: 'movies.genre', pk, fields: { genre: name, description } });
const person = (pk: string, name: string): Obj => ({ model: 'movies.person', pk, fields: { name } });
const film = (pk: string, title: string): Obj => ({ model: 'movies.filmwork', pk, fields: { title } });
const fwg = (pk: string, f: string, g: string): Obj => ({ model: 'movies.filmworkgenre', pk, fields: { film_work: f, genre: g } });
const fwp = (pk: string, f: string, p: string, job: string): Obj => ({
  model: 'movies.filmworkperson',
  pk,
  fields: { film_work: f, person: p, job },
});

const FIRST: Obj[] = [
  genre(G1, 'Drama'),
  genre(G2, 'Comedy'),
  person(P1, 'Ann'),
  person(P2, 'Bob'),
  person(P3, 'Cy'),
  person(P5, 'Eve'),
  person(P6, 'Fay'),
  ...FIRST_FILMS.map((n) => film(F(n), `Film ${n}`)),
  fwg(L1, F(1), G1),
  fwg(L2, F(2), G2),
  fwp(K1, F(7), P1, 'actor'),
  fwp(K2, F(6), P2, 'director'),
  fwp(K3, F(3), P3, 'writer'),
];

/*
 * The second load. Each queue entry it should make comes from one rule only, so that a rule
 * missing from either path fails the test:
 *   films: F1 (its genre G1 renamed), F7 (its person P1 renamed), F8 (loaded), F2 and F4 (link
 *   L2 moved from one to the other), F6 and F10 (link K2 moved), F3 (link K3 rewritten unchanged:
 *   the link trigger queues any updated link's film), F11 and F12 (new links L3, K4 to films only
 *   the catalogue holds);
 *   genres: G1 (renamed), not G2 (rewritten unchanged);
 *   persons: P1 (renamed), P4 (new), P2 and P6 (link K2 moved from one to the other), P3 (new
 *   link K4), not P3 for K3 (unchanged).
 * K2's earlier object in this file points to F5 and P5: only the last object of a pk is written,
 * so neither may be queued.
 */
const SECOND: Obj[] = [
  genre(G1, 'Drama!'),
  genre(G2, 'Comedy'),
  person(P1, 'Anna'),
  person(P2, 'Bob'),
  person(P4, 'Dee'),
  film(F(8), 'Film 8 again'),
  fwg(L2, F(4), G2),
  fwg(L3, F(11), G2),
  fwp(K2, F(5), P5, 'actor'),
  fwp(K3, F(3), P3, 'writer'),
  fwp(K2, F(10), P6, 'director'),
  fwp(K4, F(12), P3, 'actor'),
];

const QUEUES = [
  ['film_work_change', 'film_work_id'],
  ['genre_change', 'genre_id'],
  ['person_change', 'person_id'],
] as const;

/** Every queue's rows as "queue target-physical id", sorted. */
async function queueRows(db: Db): Promise<string[]> {
  const rows: string[] = [];
  for (const [table, col] of QUEUES) {
    const r = await db.raw<{ rows: Array<{ physical: string; id: string }> }>(
      `SELECT t.physical, q.${col} AS id FROM movies.${table} q JOIN movies.etl_target t ON t.id = q.target_id`,
    );
    rows.push(...r.rows.map((x) => `${table} ${x.physical} ${x.id}`));
  }
  return rows.sort();
}

async function contentRows(db: Db): Promise<string> {
  const parts: string[] = [];
  for (const [table, cols] of [
    ['genre', 'id, genre, description'],
    ['person', 'id, name'],
    ['film_work', 'id, title'],
    ['film_work_genre', 'id, film_work_id, genre_id'],
    ['film_work_person', 'id, film_work_id, person_id, job'],
  ]) {
    const r = await db.raw<{ rows: unknown[] }>(`SELECT ${cols} FROM content.${table} ORDER BY id`);
    parts.push(JSON.stringify(r.rows));
  }
  return parts.join('\n');
}

async function withTargets(db: Db): Promise<void> {
  // Two targets per index: the fan-out must reach each.
  for (const n of [1, 2]) {
    await db('movies.etl_target').insert(
      ['movies', 'genres', 'persons'].map((name) => ({ index_name: name, cluster: 'test', alias: `${name}_${n}`, physical: `${name}_${n}_p`, state: 'live' })),
    );
  }
}

describe('loaddata fast path', () => {
  let dir: string;
  const files: Record<string, string> = {};
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'movies-fast-'));
    for (const [name, objs] of Object.entries({ first: FIRST, second: SECOND })) {
      files[name] = join(dir, `${name}.json`);
      writeFileSync(files[name], JSON.stringify(objs));
    }
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('queues exactly what the triggers queue, per target, for inserts, renames and moved links', async () => {
    const results: Record<string, { first: string[]; second: string[]; content: string }> = {};
    for (const fastPath of [true, false]) {
      const h = await freshDatabase(services.DATABASE_URL, 'movies_fast');
      try {
        await withTargets(h.db);
        const one = await loadFixtures({ db: h.db, files: [files.first!], fastPath });
        assert.equal(one.fastPath, fastPath, one.fallback);
        const first = await queueRows(h.db);
        for (const [table] of QUEUES) await h.db.raw(`DELETE FROM movies.${table}`);
        const two = await loadFixtures({ db: h.db, files: [files.second!], fastPath });
        assert.equal(two.fastPath, fastPath, two.fallback);
        results[String(fastPath)] = { first, second: await queueRows(h.db), content: await contentRows(h.db) };
      } finally {
        await h.drop();
      }
    }
    const fast = results['true']!;
    const triggers = results['false']!;
    assert.deepEqual(fast.first, triggers.first);
    assert.deepEqual(fast.second, triggers.second);
    assert.equal(fast.content, triggers.content);
    // And what that is, so that both paths going wrong the same way fails too.
    const expect = (table: string, ids: string[]) =>
      ids.flatMap((x) => [1, 2].map((n) => `${table} ${table.startsWith('film') ? 'movies' : table.startsWith('genre') ? 'genres' : 'persons'}_${n}_p ${x}`));
    assert.deepEqual(
      fast.second,
      [
        ...expect('film_work_change', [1, 2, 3, 4, 6, 7, 8, 10, 11, 12].map(F)),
        ...expect('genre_change', [G1]),
        ...expect('person_change', [P1, P2, P3, P4, P6]),
      ].sort(),
    );
    assert.equal(fast.first.length, 2 * (11 + 2 + 5));
  });

  it('falls back to the triggers for a role that may not set session_replication_role, and loads the same; granted it, takes the fast path', async () => {
    const h = await freshDatabase(services.DATABASE_URL, 'movies_fast');
    const role = `movies_nosu_${randomBytes(4).toString('hex')}`;
    try {
      await withTargets(h.db);
      await h.db.raw(`CREATE ROLE ${role} LOGIN NOSUPERUSER`);
      for (const schema of ['content', 'movies']) {
        await h.db.raw(`GRANT USAGE ON SCHEMA ${schema} TO ${role}`);
        await h.db.raw(`GRANT ALL ON ALL TABLES IN SCHEMA ${schema} TO ${role}`);
        await h.db.raw(`GRANT ALL ON ALL SEQUENCES IN SCHEMA ${schema} TO ${role}`);
      }
      const url = new URL(h.url);
      url.username = role;
      const r = await runCli(['--json', 'loaddata', files.first!], { DATABASE_URL: url.toString() });
      assert.equal(r.code, ExitCode.ok, r.stderr);
      const out = JSON.parse(r.stdout) as { fastPath: boolean; fallback?: string; objects: number };
      assert.equal(out.fastPath, false);
      assert.match(out.fallback ?? '', /session_replication_role/);
      assert.equal(out.objects, FIRST.length);
      const rows = await queueRows(h.db);
      assert.equal(rows.length, 2 * (11 + 2 + 5));
      const links = await h.db.raw<{ rows: Array<{ n: number }> }>('SELECT count(*)::int AS n FROM content.film_work_person');
      assert.equal(links.rows[0]!.n, 3);
      // The same role once granted the parameter (PostgreSQL 15+) takes the fast path.
      await h.db.raw(`GRANT SET ON PARAMETER session_replication_role TO ${role}`);
      const again = await runCli(['--json', 'loaddata', files.first!], { DATABASE_URL: url.toString() });
      assert.equal(again.code, ExitCode.ok, again.stderr);
      assert.equal((JSON.parse(again.stdout) as { fastPath: boolean }).fastPath, true);
    } finally {
      await h.drop();
      // The role and its grant are cluster-wide: they go once the database that granted it things is gone.
      const c = new pg.Client({ connectionString: services.DATABASE_URL });
      await c.connect();
      await c
        .query(`DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${role}') THEN
                  REVOKE SET ON PARAMETER session_replication_role FROM ${role}; DROP ROLE ${role}; END IF; END $$`)
        .finally(() => c.end());
    }
  });

  it("falls back to the triggers when content.film_work carries a user's trigger, which fires", async () => {
    const h = await freshDatabase(services.DATABASE_URL, 'movies_fast');
    try {
      await h.db.raw(`
        CREATE TABLE public.film_audit (id uuid, at timestamptz DEFAULT now());
        CREATE FUNCTION public.film_audit() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN INSERT INTO public.film_audit (id) VALUES (NEW.id); RETURN NULL; END $$;
        CREATE TRIGGER film_audit AFTER INSERT OR UPDATE ON content.film_work
          FOR EACH ROW EXECUTE FUNCTION public.film_audit();`);
      const r = await runCli(['--json', 'loaddata', files.first!], { DATABASE_URL: h.url });
      assert.equal(r.code, ExitCode.ok, r.stderr);
      const out = JSON.parse(r.stdout) as { fastPath: boolean; fallback?: string };
      assert.equal(out.fastPath, false);
      assert.match(out.fallback ?? '', /film_audit/);
      const audit = await h.db.raw<{ rows: Array<{ n: number }> }>('SELECT count(DISTINCT id)::int AS n FROM public.film_audit');
      assert.equal(audit.rows[0]!.n, 11);
      // Without it, the same database takes the fast path.
      await h.db.raw('DROP TRIGGER film_audit ON content.film_work');
      const again = await runCli(['--json', 'loaddata', files.first!], { DATABASE_URL: h.url });
      assert.equal(again.code, ExitCode.ok, again.stderr);
      assert.equal((JSON.parse(again.stdout) as { fastPath: boolean }).fastPath, true);
    } finally {
      await h.drop();
    }
  });

  it('a reference to nothing fails with the same message on the fast path and writes nothing', async () => {
    const h = await freshDatabase(services.DATABASE_URL, 'movies_fast');
    try {
      await withTargets(h.db);
      const missing = id(0x399);
      const bad = join(dir, 'bad.json');
      writeFileSync(bad, JSON.stringify([...FIRST, fwp(id(0x599), missing, P1, 'actor')]));
      const r = await runCli(['loaddata', bad], { DATABASE_URL: h.url });
      assert.equal(r.code, ExitCode.invalidData, r.stderr);
      assert.match(
        r.stderr,
        new RegExp(`bad\\.json: object #${FIRST.length + 1} \\(movies\\.filmworkperson pk=${id(0x599)}\\): field "film_work" points to movies\\.filmwork ${missing}, which neither the fixture nor the database holds`),
      );
      assert.equal(await contentRows(h.db), ['[]', '[]', '[]', '[]', '[]'].join('\n'));
      assert.deepEqual(await queueRows(h.db), []);
      // The same database takes the fast path for a good load (so the failure above was on it).
      const ok = await runCli(['--json', 'loaddata', files.first!], { DATABASE_URL: h.url });
      assert.equal((JSON.parse(ok.stdout) as { fastPath: boolean }).fastPath, true, ok.stderr);
    } finally {
      await h.drop();
    }
  });
});
