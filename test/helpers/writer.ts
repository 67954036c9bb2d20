/**
 * A random writer for the convergence test: random writes in random transactions, some
 * held open for a while, from `--connections` concurrent sessions. Deterministic per seed
 * except for interleaving. Usage: node --import tsx writer.ts <databaseUrl> <seed> <seconds> [connections]
 */
import pg from 'pg';
import { Random } from '../../src/django/random.js';

const [url, seedArg, secondsArg, connArg] = process.argv.slice(2);
const seed = Number(seedArg);
const deadline = Date.now() + Number(secondsArg) * 1000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function pickId(c: pg.Client, table: string, rnd: Random): Promise<string | undefined> {
  // Random uuid as a pivot: cheap, indexed, and good enough to spread the writes.
  const pivot = rnd.uuid();
  const r = await c.query(`SELECT id FROM content.${table} WHERE id >= $1 ORDER BY id LIMIT 1`, [pivot]);
  if (r.rows[0]) return r.rows[0].id;
  return (await c.query(`SELECT id FROM content.${table} ORDER BY id LIMIT 1`)).rows[0]?.id;
}

const ops: Array<(c: pg.Client, r: Random) => Promise<unknown>> = [
  async (c, r) => c.query('UPDATE content.film_work SET title = $2, imdb_rating = $3 WHERE id = $1', [await pickId(c, 'film_work', r), `Title ${r.int(0, 1e6)}`, r.int(0, 100) / 10]),
  async (c, r) => c.query("UPDATE content.film_work SET description = description || ' x' WHERE id = $1", [await pickId(c, 'film_work', r)]),
  async (c, r) => c.query('UPDATE content.genre SET genre = $2 WHERE id = $1', [await pickId(c, 'genre', r), `Genre ${r.int(0, 1e9)}`]),
  async (c, r) => c.query('UPDATE content.person SET name = $2 WHERE id = $1', [await pickId(c, 'person', r), `Person ${r.int(0, 1e6)}`]),
  async (c, r) => {
    const film = r.uuid();
    await c.query('INSERT INTO content.film_work (id, title) VALUES ($1, $2)', [film, `New ${r.int(0, 1e6)}`]);
    await c.query('INSERT INTO content.film_work_genre (id, film_work_id, genre_id) VALUES ($1, $2, $3)', [r.uuid(), film, await pickId(c, 'genre', r)]);
    await c.query("INSERT INTO content.film_work_person (id, film_work_id, person_id, job) VALUES ($1, $2, $3, 'actor')", [r.uuid(), film, await pickId(c, 'person', r)]);
  },
  async (c, r) => c.query('DELETE FROM content.film_work WHERE id = $1', [await pickId(c, 'film_work', r)]),
  async (c, r) => c.query("INSERT INTO content.film_work_person (id, film_work_id, person_id, job) VALUES ($1, $2, $3, $4)", [r.uuid(), await pickId(c, 'film_work', r), await pickId(c, 'person', r), r.pick(['actor', 'writer', 'director'])]),
  async (c, r) => c.query('DELETE FROM content.film_work_person WHERE id = $1', [await pickId(c, 'film_work_person', r)]),
  async (c, r) => c.query('DELETE FROM content.film_work_genre WHERE id = $1', [await pickId(c, 'film_work_genre', r)]),
  async (c, r) => c.query('INSERT INTO content.person (id, name) VALUES ($1, $2)', [r.uuid(), `Fresh ${r.int(0, 1e6)}`]),
  async (c, r) => r.next() < 0.3 && c.query('DELETE FROM content.person WHERE id = $1', [await pickId(c, 'person', r)]),
  async (c, r) => c.query("UPDATE content.film_work SET imdb_rating = NULL WHERE id = $1", [await pickId(c, 'film_work', r)]),
];

async function session(n: number): Promise<number> {
  const rnd = new Random(seed * 1000 + n);
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  let committed = 0;
  while (Date.now() < deadline) {
    try {
      await c.query('BEGIN');
      const count = rnd.int(1, 4);
      for (let i = 0; i < count; i++) {
        await rnd.pick(ops)(c, rnd);
        // Some transactions stay open across a whole ETL page or more.
        if (rnd.next() < 0.15) await sleep(rnd.int(50, 700));
      }
      await c.query(rnd.next() < 0.1 ? 'ROLLBACK' : 'COMMIT');
      committed++;
    } catch {
      await c.query('ROLLBACK').catch(() => undefined);
    }
    await sleep(rnd.int(0, 20));
  }
  await c.end();
  return committed;
}

const sessions = Number(connArg ?? 2);
const counts = await Promise.all(Array.from({ length: sessions }, (_, i) => session(i)));
process.stdout.write(`${counts.reduce((a, b) => a + b, 0)}\n`);
