import knexFactory, { type Knex } from 'knex';
import pg from 'pg';
import { migrationSource } from './migrations/index.js';

// Return bigint (int8) columns as JS numbers: versions come from a sequence and stay far below 2^53.
pg.types.setTypeParser(20, (v) => Number(v));

export type Db = Knex;

export function createDb(databaseUrl: string, poolMax = 4): Db {
  return knexFactory({
    client: 'pg',
    connection: { connectionString: databaseUrl, application_name: 'movies' },
    pool: { min: 0, max: poolMax },
    migrations: { migrationSource, schemaName: 'public', tableName: 'movies_migrations' },
  });
}
