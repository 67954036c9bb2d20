import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Db } from '../../src/db/knex.js';

/** The course's catalogue (read-only shared data; never copied into the repository). */
export const practicumFile = fileURLToPath(new URL('../../../shared/data/practicum-db.sqlite', import.meta.url));

type Row = Record<string, string | number | null>;
export type Practicum = Record<'film_work' | 'genre' | 'person' | 'genre_film_work' | 'person_film_work', Row[]>;

const PYTHON = '/usr/bin/python3';

/** Why the course's data cannot be read here, or undefined. */
export function practicumMissing(): string | undefined {
  if (!existsSync(practicumFile)) return `${practicumFile} is absent`;
  if (!existsSync(PYTHON)) return `${PYTHON} (Debian's, with sqlite3) is absent`;
  return undefined;
}

/** Every row of the SQLite catalogue, read with Python's own sqlite3 (no npm dependency for a test). */
export function readPracticum(): Practicum {
  const script = `
import json, sqlite3, sys
c = sqlite3.connect(sys.argv[1]); c.row_factory = sqlite3.Row
print(json.dumps({t: [dict(r) for r in c.execute(f"SELECT * FROM {t} ORDER BY id")] for t in
  ['film_work', 'genre', 'person', 'genre_film_work', 'person_film_work']}))`;
  return JSON.parse(execFileSync(PYTHON, ['-c', script, practicumFile], { maxBuffer: 1 << 28 }).toString()) as Practicum;
}

/** The course's tables in PostgreSQL as the course has them (every column, uuid ids, nullable texts, role text). */
export async function createPracticumTables(db: Db, schema: string): Promise<void> {
  await db.raw(`
    CREATE SCHEMA IF NOT EXISTS ${schema};
    CREATE TABLE ${schema}.genre (id uuid PRIMARY KEY, name text NOT NULL, description text,
      created_at timestamptz, updated_at timestamptz);
    CREATE TABLE ${schema}.film_work (id uuid PRIMARY KEY, title text NOT NULL, description text, creation_date date,
      certificate text, file_path text, rating float, type text NOT NULL, created_at timestamptz, updated_at timestamptz);
    CREATE TABLE ${schema}.person (id uuid PRIMARY KEY, full_name text NOT NULL, birth_date date,
      created_at timestamptz, updated_at timestamptz);
    CREATE TABLE ${schema}.genre_film_work (id uuid PRIMARY KEY,
      film_work_id uuid NOT NULL REFERENCES ${schema}.film_work (id) ON DELETE CASCADE,
      genre_id uuid NOT NULL REFERENCES ${schema}.genre (id) ON DELETE CASCADE, created_at timestamptz);
    CREATE UNIQUE INDEX film_work_genre ON ${schema}.genre_film_work (film_work_id, genre_id);
    CREATE TABLE ${schema}.person_film_work (id uuid PRIMARY KEY,
      film_work_id uuid NOT NULL REFERENCES ${schema}.film_work (id) ON DELETE CASCADE,
      person_id uuid NOT NULL REFERENCES ${schema}.person (id) ON DELETE CASCADE, role text NOT NULL, created_at timestamptz);
    CREATE UNIQUE INDEX film_work_person_role ON ${schema}.person_film_work (film_work_id, person_id, role);`);
}

async function insert(db: Db, table: string, rows: Array<Record<string, unknown>>): Promise<void> {
  for (let i = 0; i < rows.length; i += 1000) await db(table).insert(rows.slice(i, i + 1000));
}

/** The course's rows into its own layout. */
export async function loadPracticum(db: Db, schema: string, p: Practicum): Promise<void> {
  for (const t of ['genre', 'film_work', 'person', 'genre_film_work', 'person_film_work'] as const) await insert(db, `${schema}.${t}`, p[t]);
}

/** The same rows converted into the default layout (schema content, made by `movies migrate`). */
export async function loadConverted(db: Db, p: Practicum): Promise<void> {
  await insert(db, 'content.genre', p.genre.map((g) => ({ id: g.id, genre: g.name, description: g.description ?? '' })));
  await insert(
    db,
    'content.film_work',
    p.film_work.map((f) => ({ id: f.id, title: f.title, description: f.description ?? '', creation_date: f.creation_date, film_rating: f.certificate ?? '', imdb_rating: f.rating, film_type: f.type })),
  );
  await insert(db, 'content.person', p.person.map((x) => ({ id: x.id, name: x.full_name })));
  await insert(db, 'content.film_work_genre', p.genre_film_work.map((l) => ({ id: l.id, film_work_id: l.film_work_id, genre_id: l.genre_id })));
  await insert(db, 'content.film_work_person', p.person_film_work.map((l) => ({ id: l.id, film_work_id: l.film_work_id, person_id: l.person_id, job: l.role })));
}
