import type { Knex } from 'knex';
import * as ownTables from './001_own_tables.js';
import * as catalogue from './002_catalogue.js';
import * as noNotify from './003_no_notify.js';
import * as capture from './004_capture.js';

export interface Migration {
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

// Migrations of movies' own tables (schema movies). Imported, not discovered on disk, so they
// work the same from src/ (tsx) and dist/. The capture triggers are not migrations: they are
// rendered from the catalogue's layout at every `movies migrate` (src/capture/).
const migrations: Record<string, Migration> = {
  '001_own_tables': ownTables,
  '002_catalogue': catalogue,
  '003_no_notify': noNotify,
  '004_capture': capture,
};

/** A knex migration source over migrations imported by name (here, and the earlier versions' in legacy/). */
export const sourceOf = (migrations: Record<string, Migration>): Knex.MigrationSource<string> => ({
  getMigrations: async () => Object.keys(migrations).sort(),
  getMigrationName: (name) => name,
  getMigration: async (name) => {
    const m = migrations[name];
    if (!m) throw new Error(`unknown migration ${name}`);
    return m;
  },
});

export const migrationSource = sourceOf(migrations);
