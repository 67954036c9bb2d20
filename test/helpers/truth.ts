import type { Db } from '../../src/db/knex.js';
import type { MovieDocument } from '../../src/indexes/films/document.js';

/** The truth has exactly the document's shape. */
export type TruthDoc = MovieDocument;

/**
 * What the index must hold, computed from plain table reads and JavaScript, on purpose
 * without the extractor's SQL, so that a bug there cannot hide in both places.
 */
export async function truth(db: Db, schema = 'content'): Promise<Map<string, TruthDoc>> {
  const films = await db(`${schema}.film_work`).select('id', 'title', 'description', 'imdb_rating');
  const genres = new Map((await db(`${schema}.genre`).select('id', 'genre')).map((g) => [g.id as string, g.genre as string]));
  const persons = new Map((await db(`${schema}.person`).select('id', 'name')).map((p) => [p.id as string, p.name as string]));
  const docs = new Map<string, TruthDoc>();
  for (const f of films) {
    docs.set(f.id, {
      id: f.id,
      imdb_rating: f.imdb_rating,
      genre: [],
      title: f.title,
      description: f.description,
      director: [],
      actors_names: [],
      writers_names: [],
      actors: [],
      writers: [],
    });
  }
  for (const l of await db(`${schema}.film_work_genre`).select('film_work_id', 'genre_id')) {
    const d = docs.get(l.film_work_id)!;
    const name = genres.get(l.genre_id)!;
    if (!d.genre.includes(name)) d.genre.push(name);
  }
  const seen = new Set<string>();
  for (const l of await db(`${schema}.film_work_person`).select('film_work_id', 'person_id', 'job')) {
    const key = `${l.film_work_id}/${l.person_id}/${l.job}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const d = docs.get(l.film_work_id)!;
    const ref = { id: l.person_id as string, name: persons.get(l.person_id)! };
    if (l.job === 'director') d.director.push(ref.name);
    if (l.job === 'actor') d.actors.push(ref);
    if (l.job === 'writer') d.writers.push(ref);
  }
  for (const d of docs.values()) {
    d.actors_names = d.actors.map((a) => a.name);
    d.writers_names = d.writers.map((w) => w.name);
  }
  return docs;
}

/** Order-insensitive form, so that two documents compare by content only. */
export function canonical(d: TruthDoc | Record<string, unknown>): string {
  const x = d as TruthDoc;
  const byKey = (a: { id: string; name: string }, b: { id: string; name: string }) =>
    (a.id + a.name).localeCompare(b.id + b.name);
  return JSON.stringify({
    id: x.id,
    imdb_rating: x.imdb_rating,
    title: x.title,
    description: x.description,
    genre: [...x.genre].sort(),
    director: [...x.director].sort(),
    actors_names: [...x.actors_names].sort(),
    writers_names: [...x.writers_names].sort(),
    actors: [...x.actors].sort(byKey),
    writers: [...x.writers].sort(byKey),
    keys: Object.keys(x).sort(),
  });
}
