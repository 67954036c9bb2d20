import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE SCHEMA IF NOT EXISTS content;

    CREATE TABLE content.film_work (
      id uuid PRIMARY KEY,
      title varchar(255) NOT NULL,
      description text NOT NULL DEFAULT '',
      creation_date date NULL,
      film_rating varchar(32) NOT NULL DEFAULT '',
      imdb_rating double precision NULL,
      film_type varchar(32) NOT NULL DEFAULT ''
        CHECK (film_type IN ('', 'movie', 'tv_show', 'series')),
      created timestamptz NOT NULL DEFAULT now(),
      modified timestamptz NOT NULL DEFAULT now()
    );

    CREATE TABLE content.genre (
      id uuid PRIMARY KEY,
      genre varchar(255) NOT NULL UNIQUE,
      description text NOT NULL DEFAULT '',
      created timestamptz NOT NULL DEFAULT now(),
      modified timestamptz NOT NULL DEFAULT now()
    );

    CREATE TABLE content.person (
      id uuid PRIMARY KEY,
      name text NOT NULL,
      created timestamptz NOT NULL DEFAULT now(),
      modified timestamptz NOT NULL DEFAULT now()
    );

    -- Links carry no unique (film, person, job) constraint: the original fixture repeats
    -- 153 such triples under other pks and must load as-is. Documents de-duplicate instead.
    CREATE TABLE content.film_work_genre (
      id uuid PRIMARY KEY,
      film_work_id uuid NOT NULL REFERENCES content.film_work (id) ON DELETE CASCADE,
      genre_id uuid NOT NULL REFERENCES content.genre (id) ON DELETE CASCADE,
      created timestamptz NOT NULL DEFAULT now(),
      modified timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX film_work_genre_film_work_idx ON content.film_work_genre (film_work_id);
    CREATE INDEX film_work_genre_genre_idx ON content.film_work_genre (genre_id);

    CREATE TABLE content.film_work_person (
      id uuid PRIMARY KEY,
      film_work_id uuid NOT NULL REFERENCES content.film_work (id) ON DELETE CASCADE,
      person_id uuid NOT NULL REFERENCES content.person (id) ON DELETE CASCADE,
      job varchar(32) NOT NULL CHECK (job IN ('actor', 'director', 'writer')),
      created timestamptz NOT NULL DEFAULT now(),
      modified timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX film_work_person_film_work_idx ON content.film_work_person (film_work_id);
    CREATE INDEX film_work_person_person_idx ON content.film_work_person (person_id);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP SCHEMA IF EXISTS content CASCADE');
}
