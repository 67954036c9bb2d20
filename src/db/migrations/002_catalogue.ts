import type { Knex } from 'knex';

/*
 * The catalogue this database's capture was installed for (one row): its schema and layout, as
 * `movies migrate` last installed them. Other commands compare their --schema/--catalogue with it,
 * so a forgotten flag is an error instead of documents read from the wrong tables.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE movies.catalogue (
      one boolean PRIMARY KEY DEFAULT true CHECK (one),
      schema_name text NOT NULL,
      layout_name text NOT NULL,
      layout jsonb NOT NULL,
      installed_at timestamptz NOT NULL DEFAULT clock_timestamp()
    );
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE movies.catalogue');
}
