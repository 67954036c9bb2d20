import type { Db } from '../../src/db/knex.js';
import type { GenreDocument } from '../../src/indexes/genres/document.js';
import type { PersonDocument } from '../../src/indexes/persons/document.js';
import type { Role } from '../../src/indexes/persons/document.js';

/*
 * What the genres and persons indexes must hold, from plain table reads and JavaScript, on
 * purpose without the page SQL (as truth.ts does for films), so that a bug there cannot hide
 * in both places. Documents come out in their exact order (films by id, roles sorted), so
 * they compare with deepEqual as they are.
 */

export async function genreTruth(db: Db, schema = 'content'): Promise<Map<string, GenreDocument>> {
  const docs = new Map<string, GenreDocument>();
  for (const g of await db(`${schema}.genre`).select('id', 'genre', 'description')) {
    docs.set(g.id, { id: g.id, name: g.genre, description: g.description });
  }
  return docs;
}

export async function personTruth(db: Db, schema = 'content'): Promise<Map<string, PersonDocument>> {
  const persons = await db(`${schema}.person`).select('id', 'name');
  const jobs = new Map<string, Map<string, Set<Role>>>(persons.map((p) => [p.id, new Map()])); // person -> film -> jobs
  for (const l of await db(`${schema}.film_work_person`).select('film_work_id', 'person_id', 'job')) {
    const films = jobs.get(l.person_id)!;
    if (!films.has(l.film_work_id)) films.set(l.film_work_id, new Set());
    films.get(l.film_work_id)!.add(l.job);
  }
  const docs = new Map<string, PersonDocument>();
  for (const p of persons) {
    const films = [...jobs.get(p.id)!.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([id, roles]) => ({ id, roles: [...roles].sort() }));
    docs.set(p.id, { id: p.id, full_name: p.name, films });
  }
  return docs;
}
