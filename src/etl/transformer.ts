import type { ValidateFunction } from 'ajv';
import { InvalidDataError } from '../errors.js';
import type { MovieDocument, PersonRef } from './document.js';
import type { FilmRow, Job } from './extractor.js';
import { describeError } from './schema.js';

export function toDocument(row: FilmRow): MovieDocument {
  const byJob = (job: Job): PersonRef[] =>
    row.people.filter((p) => p.job === job).map((p) => ({ id: p.id, name: p.name }));
  const actors = byJob('actor');
  const writers = byJob('writer');
  return {
    id: row.film_work_id,
    imdb_rating: row.imdb_rating,
    genre: row.genres,
    title: row.title ?? '',
    description: row.description ?? '',
    director: byJob('director').map((p) => p.name),
    actors_names: actors.map((p) => p.name),
    writers_names: writers.map((p) => p.name),
    actors,
    writers,
  };
}

export interface BulkPayload {
  ndjson: string;
  ids: string[];
  versions: number[];
  indexed: number;
  deleted: number;
}

/**
 * Builds one bulk body for a page. Throws InvalidDataError on the first document that
 * breaks the schema, before anything of the page is sent or marked.
 */
export function toBulk(rows: FilmRow[], index: string, validate: ValidateFunction<MovieDocument>): BulkPayload {
  const lines: string[] = [];
  let indexed = 0;
  let deleted = 0;
  for (const row of rows) {
    const meta = { _index: index, _id: row.film_work_id };
    if (!row.present) {
      lines.push(JSON.stringify({ delete: meta }));
      deleted++;
      continue;
    }
    const doc = toDocument(row);
    if (!validate(doc)) {
      const first = validate.errors?.[0];
      const d = first ? describeError(first) : { field: '(document)', rule: 'schema', message: 'is invalid' };
      throw new InvalidDataError(
        `film ${row.film_work_id} is invalid: ${d.message}; rule "${d.rule}" on field "${d.field}". Nothing of its batch was marked indexed.`,
      );
    }
    lines.push(JSON.stringify({ index: meta }), JSON.stringify(doc));
    indexed++;
  }
  return {
    ndjson: lines.join('\n') + '\n',
    ids: rows.map((r) => r.film_work_id),
    versions: rows.map((r) => r.version),
    indexed,
    deleted,
  };
}
