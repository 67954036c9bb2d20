import type { Knex } from 'knex';
import { ident } from './names.js';
import type { Catalogue } from './layout.js';

/*
 * The catalogue's tables, for `movies migrate` on a schema that has none of them: the default
 * layout's DDL (the original Django models'), with the layout's names. Links carry no unique
 * (film, person, job) constraint: the original fixture repeats 153 such triples under other pks
 * and must load as-is; documents de-duplicate instead.
 */
export async function createCatalogue(trx: Knex.Transaction, cat: Catalogue): Promise<void> {
  const L = cat.layout;
  const s = ident(cat.schema);
  const t = (e: keyof typeof L) => `${s}.${ident(L[e].table)}`;
  // Only the columns the layout maps; each line is "<field> <definition>".
  const columns = <E extends keyof typeof L>(e: E, defs: Record<string, string>) =>
    Object.entries(defs)
      .map(([f, def]) => [(L[e].columns as Record<string, string | null>)[f], def] as const)
      .filter(([col]) => col !== null && col !== undefined)
      .map(([col, def]) => `${ident(col!)} ${def.replace(/%(\w+)/g, (_, x: string) => ident((L[e].columns as Record<string, string | null>)[x]!))}`)
      .join(',\n      ');
  const stamps = { created: 'timestamptz NOT NULL DEFAULT now()', modified: 'timestamptz NOT NULL DEFAULT now()' };
  const fw = L.film_work.columns;
  await trx.raw(`
    CREATE SCHEMA IF NOT EXISTS ${s};

    CREATE TABLE ${t('film_work')} (
      ${columns('film_work', {
        id: 'uuid PRIMARY KEY',
        title: 'varchar(255) NOT NULL',
        description: "text NOT NULL DEFAULT ''",
        creation_date: 'date NULL',
        film_rating: "varchar(32) NOT NULL DEFAULT ''",
        imdb_rating: 'double precision NULL',
        film_type: `varchar(32) NOT NULL DEFAULT '' CHECK (%film_type IN ('', 'movie', 'tv_show', 'series'))`,
        ...stamps,
      })}
    );

    CREATE TABLE ${t('genre')} (
      ${columns('genre', { id: 'uuid PRIMARY KEY', genre: 'varchar(255) NOT NULL UNIQUE', description: "text NOT NULL DEFAULT ''", ...stamps })}
    );

    CREATE TABLE ${t('person')} (
      ${columns('person', { id: 'uuid PRIMARY KEY', name: 'text NOT NULL', ...stamps })}
    );

    CREATE TABLE ${t('film_work_genre')} (
      ${columns('film_work_genre', {
        id: 'uuid PRIMARY KEY',
        film_work_id: `uuid NOT NULL REFERENCES ${t('film_work')} (${ident(fw.id!)}) ON DELETE CASCADE`,
        genre_id: `uuid NOT NULL REFERENCES ${t('genre')} (${ident(L.genre.columns.id!)}) ON DELETE CASCADE`,
        ...stamps,
      })}
    );
    CREATE INDEX ON ${t('film_work_genre')} (${ident(L.film_work_genre.columns.film_work_id!)});
    CREATE INDEX ON ${t('film_work_genre')} (${ident(L.film_work_genre.columns.genre_id!)});

    CREATE TABLE ${t('film_work_person')} (
      ${columns('film_work_person', {
        id: 'uuid PRIMARY KEY',
        film_work_id: `uuid NOT NULL REFERENCES ${t('film_work')} (${ident(fw.id!)}) ON DELETE CASCADE`,
        person_id: `uuid NOT NULL REFERENCES ${t('person')} (${ident(L.person.columns.id!)}) ON DELETE CASCADE`,
        job: "varchar(32) NOT NULL CHECK (%job IN ('actor', 'director', 'writer'))",
        ...stamps,
      })}
    );
    CREATE INDEX ON ${t('film_work_person')} (${ident(L.film_work_person.columns.film_work_id!)});
    CREATE INDEX ON ${t('film_work_person')} (${ident(L.film_work_person.columns.person_id!)});
  `);
}
