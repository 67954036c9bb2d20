import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { readRange } from '../../src/etl/extractor.js';
import { filmsIndex as filmsDefinition } from '../../src/indexes/films/index.js';
import { bindIndex } from '../../src/indexes/spec.js';
import { names } from '../../src/catalogue/names.js';
import { defaultCatalogue } from '../../src/catalogue/resolve.js';

const filmsIndex = bindIndex(filmsDefinition, names(defaultCatalogue()));
import type { MovieDocument } from '../../src/indexes/films/document.js';
import { freshDatabase } from '../helpers/db.js';
import { serviceEnv } from '../helpers/env.js';

const services = serviceEnv();

/*
 * The film page query builds documents in PostgreSQL; the truth helpers compare lists as sets,
 * so the order of each list is proven here: people by name then id, genres by name.
 */
describe('film documents built by the page query', () => {
  let fresh: Awaited<ReturnType<typeof freshDatabase>>;
  before(async () => {
    fresh = await freshDatabase(services.DATABASE_URL, 'movies_fpage');
  });
  after(async () => fresh?.drop());

  it('lists people by name then id, once per job, and genres by name', async () => {
    const db = fresh.db;
    const film = randomUUID();
    const ids = [randomUUID(), randomUUID()].sort();
    const people = [
      { id: ids[1]!, name: 'Ann' },
      { id: randomUUID(), name: 'Cid' },
      { id: ids[0]!, name: 'Ann' },
      { id: randomUUID(), name: 'Bea' },
    ];
    await db('content.film_work').insert({ id: film, title: 'T', imdb_rating: 7.5 });
    await db('content.person').insert(people);
    await db('content.genre').insert([
      { id: randomUUID(), genre: 'Western' },
      { id: randomUUID(), genre: 'Drama' },
    ]);
    const genres = await db('content.genre').select('id');
    await db('content.film_work_genre').insert(genres.map((g: { id: string }) => ({ id: randomUUID(), film_work_id: film, genre_id: g.id })));
    // Every person acts, twice under other link pks (links repeat, see 001); Cid and one Ann also write.
    const links = [...people, ...people].map((p) => ({ id: randomUUID(), film_work_id: film, person_id: p.id, job: 'actor' }));
    links.push({ id: randomUUID(), film_work_id: film, person_id: people[1]!.id, job: 'writer' });
    links.push({ id: randomUUID(), film_work_id: film, person_id: ids[1]!, job: 'writer' });
    await db('content.film_work_person').insert(links);
    const [target] = (await db('movies.etl_target')
      .insert({ index_name: 'movies', cluster: 'test', alias: 'fpage', physical: 'fpage_1', state: 'building' })
      .returning('id')) as Array<{ id: number }>;
    await db.raw('INSERT INTO movies.film_work_change (target_id, film_work_id) VALUES (?, ?)', [target!.id, film]);

    const rows = await readRange(db, filmsIndex, target!.id, 0, Number.MAX_SAFE_INTEGER);
    assert.equal(rows.length, 1);
    const doc = JSON.parse(rows[0]!.doc!) as MovieDocument;
    assert.deepEqual(doc.actors, [
      { id: ids[0], name: 'Ann' },
      { id: ids[1], name: 'Ann' },
      { id: people[3]!.id, name: 'Bea' },
      { id: people[1]!.id, name: 'Cid' },
    ]);
    assert.deepEqual(doc.actors_names, ['Ann', 'Ann', 'Bea', 'Cid']);
    assert.deepEqual(doc.writers, [
      { id: ids[1], name: 'Ann' },
      { id: people[1]!.id, name: 'Cid' },
    ]);
    assert.deepEqual(doc.writers_names, ['Ann', 'Cid']);
    assert.deepEqual(doc.director, []);
    assert.deepEqual(doc.genre, ['Drama', 'Western']);
    assert.equal(doc.imdb_rating, 7.5);
    assert.equal(doc.description, '');
  });
});
