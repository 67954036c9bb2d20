import type { Layout } from '../layout.js';

/*
 * The course's layout (the practicum's SQLite catalogue, moved to PostgreSQL as it is): genre.name,
 * person.full_name, link tables genre_film_work and person_film_work with role, film_work.rating
 * and film_work.type, created_at/updated_at stamps, and links without updated_at.
 */
export const practicumLayout: Layout = {
  film_work: {
    table: 'film_work',
    columns: {
      id: 'id',
      title: 'title',
      description: 'description',
      creation_date: 'creation_date',
      film_rating: 'certificate',
      imdb_rating: 'rating',
      film_type: 'type',
      created: 'created_at',
      modified: 'updated_at',
    },
  },
  genre: { table: 'genre', columns: { id: 'id', genre: 'name', description: 'description', created: 'created_at', modified: 'updated_at' } },
  person: { table: 'person', columns: { id: 'id', name: 'full_name', created: 'created_at', modified: 'updated_at' } },
  film_work_genre: {
    table: 'genre_film_work',
    columns: { id: 'id', film_work_id: 'film_work_id', genre_id: 'genre_id', created: 'created_at', modified: null },
  },
  film_work_person: {
    table: 'person_film_work',
    columns: { id: 'id', film_work_id: 'film_work_id', person_id: 'person_id', job: 'role', created: 'created_at', modified: null },
  },
};
