/*
 * A catalogue layout: which tables and columns hold the films, genres, persons and their links.
 * Every statement movies runs on the catalogue (capture triggers, document SQL, loaddata,
 * verify, status) takes its names from a Layout, through ./names.ts; nothing else in src/
 * spells a catalogue table or column.
 *
 * The keys are the default layout's own names (src/catalogue/layouts/movies.ts), which are also
 * the original Django models' db_table and column names. A column mapped to null is absent: a
 * document reads '' for a missing text and null for a missing rating, as the default layout's
 * defaults give; loaddata skips it.
 */
export const ENTITIES = {
  film_work: ['id', 'title', 'description', 'creation_date', 'film_rating', 'imdb_rating', 'film_type', 'created', 'modified'],
  genre: ['id', 'genre', 'description', 'created', 'modified'],
  person: ['id', 'name', 'created', 'modified'],
  film_work_genre: ['id', 'film_work_id', 'genre_id', 'created', 'modified'],
  film_work_person: ['id', 'film_work_id', 'person_id', 'job', 'created', 'modified'],
} as const;

export type Entity = keyof typeof ENTITIES;
export type Field<E extends Entity> = (typeof ENTITIES)[E][number];

/** What a column must be for movies to read or write it (checked by `movies migrate`). */
export type Kind = 'uuid' | 'text' | 'float' | 'date' | 'timestamp' | 'role';

export const KINDS: { [E in Entity]: Record<Field<E>, Kind> } = {
  film_work: {
    id: 'uuid',
    title: 'text',
    description: 'text',
    creation_date: 'date',
    film_rating: 'text',
    imdb_rating: 'float',
    film_type: 'text',
    created: 'timestamp',
    modified: 'timestamp',
  },
  genre: { id: 'uuid', genre: 'text', description: 'text', created: 'timestamp', modified: 'timestamp' },
  person: { id: 'uuid', name: 'text', created: 'timestamp', modified: 'timestamp' },
  film_work_genre: { id: 'uuid', film_work_id: 'uuid', genre_id: 'uuid', created: 'timestamp', modified: 'timestamp' },
  film_work_person: { id: 'uuid', film_work_id: 'uuid', person_id: 'uuid', job: 'role', created: 'timestamp', modified: 'timestamp' },
};

/** Columns every layout must map: the ones documents and capture cannot do without. */
export const REQUIRED: { [E in Entity]: readonly Field<E>[] } = {
  film_work: ['id', 'title'],
  genre: ['id', 'genre'],
  person: ['id', 'name'],
  film_work_genre: ['id', 'film_work_id', 'genre_id'],
  film_work_person: ['id', 'film_work_id', 'person_id', 'job'],
};

export interface TableLayout<E extends Entity> {
  table: string;
  columns: Record<Field<E>, string | null>;
}

export type Layout = { [E in Entity]: TableLayout<E> };

/** Where movies finds the catalogue: its schema, the names in it, and what the user called the layout. */
export interface Catalogue {
  schema: string;
  layout: Layout;
  /** "movies", "practicum" or the layout file's path, for messages. */
  layoutName: string;
}

export const ENTITY_NAMES = Object.keys(ENTITIES) as Entity[];
