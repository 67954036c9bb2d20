import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { freshDatabase } from '../helpers/db.js';
import { CAPTURES, type Capture } from '../helpers/captures.js';
import { collectCaptured } from '../helpers/catalogue.js';
import { markPage } from '../../src/db/queue.js';
import { loadFixtures } from '../../src/django/load.js';
import type { Db } from '../../src/db/knex.js';

/*
 * A rename of a person or genre racing a new link to it (migration 007). Connection A adds a
 * film and its link (or moves a film's link to it), connection B renames what the link points
 * to, and the ETL (simulated here with the real mark statement, one target) reads and marks
 * pending films whenever it can: right after A's commit, before B's if the database lets A
 * commit first. Whatever order the database imposes, the film must end indexed with the new
 * name. Before 007, B's rename trigger did not see A's link (its snapshot predates A's commit),
 * queued nothing for the film, and the ETL's read between the two commits left the old name in
 * the index for good.
 */

// Bounded waits: a regression that deadlocks or blocks fails the test instead of hanging the suite.
const OPTIONS = '-c lock_timeout=10s -c statement_timeout=15s';

interface Kind {
  name: 'person' | 'genre';
  /** Inserts the film's link to `parent` (params: link id, film id, parent id). */
  link: string;
  /** Moves a link to `parent` (params: link id, parent id). */
  move: string;
  /** Renames `parent` (params: parent id, new name). */
  rename: string;
}
const KINDS: Kind[] = [
  {
    name: 'person',
    link: `INSERT INTO content.film_work_person (id, film_work_id, person_id, job) VALUES ($1, $2, $3, 'actor')`,
    move: 'UPDATE content.film_work_person SET person_id = $2 WHERE id = $1',
    rename: 'UPDATE content.person SET name = $2 WHERE id = $1',
  },
  {
    name: 'genre',
    link: 'INSERT INTO content.film_work_genre (id, film_work_id, genre_id) VALUES ($1, $2, $3)',
    move: 'UPDATE content.film_work_genre SET genre_id = $2 WHERE id = $1',
    rename: 'UPDATE content.genre SET genre = $2 WHERE id = $1',
  },
];

/** A query in flight: `done` to await it, `settled` to look without awaiting. */
function inFlight<T>(p: Promise<T>): { done: Promise<T>; settled: () => boolean } {
  let settled = false;
  const done = p.finally(() => {
    settled = true;
  });
  done.catch(() => undefined);
  return { done, settled: () => settled };
}

/*
 * genre.genre is UNIQUE, so a genre rename is a key update: it takes FOR UPDATE, which already
 * conflicts with the FOR KEY SHARE a new link's foreign key check holds, and the genre race did
 * not occur even before 007 (these tests pass there). The second suite drops that constraint, as
 * a schema change might, to show 007's own lock on genres covers it without the index.
 */
/*
 * Logical capture takes no lock in the writers' transactions: the fan-out runs after both have
 * committed and reads the links as they are then, so the writers need not wait for each other
 * (the waits asserted below are trigger capture's); the index must end the same.
 */
for (const capture of CAPTURES) {
  suite(`change capture: a rename racing a new link (${capture.mode})`, capture, KINDS, async () => undefined);
  suite(`change capture: a genre rename racing a new link, genre names not unique (${capture.mode})`, capture, [KINDS[1]!], async (db) => {
    await db.raw('ALTER TABLE content.genre DROP CONSTRAINT genre_genre_key');
  });
}

function suite(title: string, capture: Capture, kinds: Kind[], prepare: (db: Db) => Promise<void>): void {
  const locks = capture.mode === 'triggers';
  describe(title, () => {
    let db: Db;
    let url: string;
    let drop: () => Promise<void>;
    let target: number;
    /** The simulated index: film id -> the names its document had when the ETL read it. */
    const index = new Map<string, { persons: string[]; genres: string[] }>();

    before(async () => {
      ({ db, url, drop } = await freshDatabase(capture.databaseUrl, 'movies_race', capture.mode));
      target = (await db.raw(`INSERT INTO movies.etl_target (index_name, state) VALUES ('movies', 'live') RETURNING id`)).rows[0].id;
      await prepare(db);
    });
    after(async () => drop?.());

    /** One ETL pass over the movies queue: reads every pending film's names from one snapshot, as the page query does, then marks them. */
    async function etlRun(): Promise<void> {
      await collectCaptured({ db, url });
      const r = await db.raw<{ rows: Array<{ id: string; version: number; persons: string[]; genres: string[] }> }>(
        `SELECT c.film_work_id AS id, c.version,
                ARRAY(SELECT p.name FROM content.film_work_person l JOIN content.person p ON p.id = l.person_id
                      WHERE l.film_work_id = c.film_work_id ORDER BY p.name) AS persons,
                ARRAY(SELECT g.genre FROM content.film_work_genre l JOIN content.genre g ON g.id = l.genre_id
                      WHERE l.film_work_id = c.film_work_id ORDER BY g.genre) AS genres
         FROM movies.film_work_change c WHERE c.target_id = ?`,
        [target],
      );
      for (const row of r.rows) index.set(row.id, { persons: row.persons, genres: row.genres });
      const queue = { table: 'film_work_change', idColumn: 'film_work_id', rejectedTable: 'film_work_rejected' };
      await markPage(db, queue, target, r.rows.map((row) => ({ id: row.id, version: row.version })), []);
    }

    const indexed = (film: string, kind: Kind['name']) => index.get(film)?.[kind === 'person' ? 'persons' : 'genres'];

    async function client(): Promise<pg.Client & { pid: number }> {
      const c = new pg.Client({ connectionString: url, options: OPTIONS, application_name: 'capture-race' });
      await c.connect();
      const pid = (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      return Object.assign(c, { pid });
    }

    /** Polls until `q` settles ('done': it did not wait) or backend `pid` waits for a lock ('blocked'). */
    async function blockedOrDone(pid: number, q: { settled: () => boolean }): Promise<'blocked' | 'done'> {
      for (let i = 0; i < 500; i++) {
        if (q.settled()) return 'done';
        const r = await db.raw<{ rows: Array<{ n: number }> }>('SELECT cardinality(pg_blocking_pids(?)) AS n', [pid]);
        if (r.rows[0]!.n > 0) return 'blocked';
        await new Promise((res) => setTimeout(res, 10));
      }
      throw new Error(`backend ${pid} neither finished nor waited for a lock within 5 s`);
    }

    /** A person or genre named `name`, committed. */
    async function parent(kind: Kind, name: string): Promise<string> {
      const id = randomUUID();
      if (kind.name === 'person') await db('content.person').insert({ id, name });
      else await db('content.genre').insert({ id, genre: name });
      return id;
    }

    async function withClients(fn: (a: pg.Client & { pid: number }, b: pg.Client & { pid: number }) => Promise<void>): Promise<void> {
      const a = await client();
      const b = await client();
      try {
        await fn(a, b);
      } finally {
        await Promise.all([a.end(), b.end()]);
      }
    }

    /*
     * Begins A's transaction and returns A's statement that points a link of `film` at `p`: a new
     * film and its link (insert), or an existing, indexed film's link to another parent moved to
     * `p` (update).
     */
    async function beginLink(a: pg.Client, kind: Kind, how: 'insert' | 'update', film: string, p: string): Promise<[string, unknown[]]> {
      if (how === 'insert') {
        await a.query('BEGIN');
        await a.query(`INSERT INTO content.film_work (id, title) VALUES ($1, 'Race')`, [film]);
        return [kind.link, [randomUUID(), film, p]];
      }
      const link = randomUUID();
      await a.query(`INSERT INTO content.film_work (id, title) VALUES ($1, 'Race')`, [film]);
      await a.query(kind.link, [link, film, await parent(kind, `Other ${kind.name} ${randomUUID()}`)]);
      await etlRun();
      await a.query('BEGIN');
      return [kind.move, [link, p]];
    }

    for (const kind of kinds) {
      for (const how of ['insert', 'update'] as const) {
        const what = how === 'insert' ? 'a new link' : 'a link moved to it';
        it(`${kind.name}: ${what} first, then a rename: the rename waits for the link's commit and queues the film`, async () => {
          const [oldName, newName] = [`Old ${kind.name} ${randomUUID()}`, `New ${kind.name} ${randomUUID()}`];
          const p = await parent(kind, oldName);
          const film = randomUUID();
          let renameWaited = false;
          await withClients(async (a, b) => {
            await a.query(...(await beginLink(a, kind, how, film, p)));
            await b.query('BEGIN');
            const rename = inFlight(b.query(kind.rename, [p, newName]));
            renameWaited = (await blockedOrDone(b.pid, rename)) === 'blocked';
            await a.query('COMMIT');
            await rename.done;
            await etlRun(); // between A's commit and B's: the link is visible, the rename is not
            await b.query('COMMIT');
          });
          await etlRun();
          assert.deepEqual(indexed(film, kind.name), [newName], 'the index ends with the new name');
          if (locks) assert.ok(renameWaited, "the rename waited for the link's transaction");
        });

        it(`${kind.name}: a rename first, then ${what}: the link waits for the rename's commit`, async () => {
          const [oldName, newName] = [`Old ${kind.name} ${randomUUID()}`, `New ${kind.name} ${randomUUID()}`];
          const p = await parent(kind, oldName);
          const film = randomUUID();
          let linkWaited = false;
          await withClients(async (a, b) => {
            await b.query('BEGIN');
            await b.query(kind.rename, [p, newName]);
            const link = inFlight(a.query(...(await beginLink(a, kind, how, film, p))));
            linkWaited = (await blockedOrDone(a.pid, link)) === 'blocked';
            if (!linkWaited) {
              // What the database allowed before 007: A commits first and the ETL reads the film before B commits.
              await link.done;
              await a.query('COMMIT');
              await etlRun();
              await b.query('COMMIT');
            } else {
              await b.query('COMMIT');
              await link.done;
              await a.query('COMMIT');
              await etlRun();
              assert.deepEqual(indexed(film, kind.name), [newName], 'the first read after the link commits has the new name');
            }
          });
          await etlRun();
          assert.deepEqual(indexed(film, kind.name), [newName], 'the index ends with the new name');
          if (locks) assert.ok(linkWaited, "the link waited for the rename's transaction");
        });
      }
    }

    if (locks && kinds.includes(KINDS[0]!)) {
      it('a REPEATABLE READ link writer that waited for a rename fails with a serialization error (the rename is not lost)', async () => {
        const kind = KINDS[0]!;
        const p = await parent(kind, `Old ${randomUUID()}`);
        const film = randomUUID();
        await withClients(async (a, b) => {
          await b.query('BEGIN');
          await b.query(kind.rename, [p, `New ${randomUUID()}`]);
          await a.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
          await a.query(`INSERT INTO content.film_work (id, title) VALUES ($1, 'Race')`, [film]);
          const link = inFlight(a.query(kind.link, [randomUUID(), film, p]));
          assert.equal(await blockedOrDone(a.pid, link), 'blocked');
          await b.query('COMMIT');
          await assert.rejects(link.done, (err: { code?: string }) => err.code === '40001');
          await a.query('ROLLBACK');
        });
      });
    }

    /*
     * loaddata holds its transaction for the whole load, so only "rename first" can be staged: the
     * load must wait for the rename (the trigger path in the link trigger, the fast path where it
     * locks the parents its links point to) instead of committing first.
     */
    for (const kind of kinds) {
      for (const fastPath of [true, false]) {
        it(`loaddata (${fastPath ? 'fast path' : 'trigger path'}) of a link to a ${kind.name} being renamed waits for the rename`, async () => {
          const p = await parent(kind, `Old ${kind.name} ${randomUUID()}`);
          const newName = `New ${kind.name} ${randomUUID()}`;
          const film = randomUUID();
          const link =
            kind.name === 'person'
              ? { model: 'movies.filmworkperson', pk: randomUUID(), fields: { film_work: film, person: p, job: 'director' } }
              : { model: 'movies.filmworkgenre', pk: randomUUID(), fields: { film_work: film, genre: p } };
          const dir = mkdtempSync(join(tmpdir(), 'movies-race-'));
          const file = join(dir, 'links.json');
          writeFileSync(file, JSON.stringify([{ model: 'movies.filmwork', pk: film, fields: { title: 'Loaded' } }, link]));
          let loadWaited = false;
          try {
            await withClients(async (_a, b) => {
              await b.query('BEGIN');
              await b.query(kind.rename, [p, newName]);
              const load = inFlight(loadFixtures({ db, files: [file], fastPath }));
              for (let i = 0; i < 500 && !load.settled() && !loadWaited; i++) {
                const r = await db.raw<{ rows: Array<{ n: number }> }>(
                  'SELECT count(*)::int AS n FROM pg_stat_activity WHERE ? = ANY(pg_blocking_pids(pid))',
                  [b.pid],
                );
                loadWaited = r.rows[0]!.n > 0;
                if (!loadWaited) await new Promise((res) => setTimeout(res, 10));
              }
              if (!loadWaited) {
                // Before 007: the load commits first and the ETL reads the film before the rename commits.
                assert.equal((await load.done).fastPath, fastPath);
                await etlRun();
                await b.query('COMMIT');
              } else {
                await b.query('COMMIT');
                assert.equal((await load.done).fastPath, fastPath);
              }
            });
          } finally {
            rmSync(dir, { recursive: true, force: true });
          }
          await etlRun();
          assert.deepEqual(indexed(film, kind.name), [newName], 'the index ends with the new name');
          // loaddata's fast path locks the parents itself, whatever the capture mode; its trigger path has no trigger under logical capture.
          if (locks || fastPath) assert.ok(loadWaited, 'the load waited for the rename');
        });
      }
    }
  });
}
