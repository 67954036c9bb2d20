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

/** One film's bulk action, kept with its raw lines so that it can be resent alone. */
export interface BulkAction {
  id: string;
  version: number;
  op: 'index' | 'delete';
  /** The action line and, for index, the source line; each ends with a newline. */
  lines: string;
}

/** A film that is not indexed: invalid document, or the engine refused it (--skip-invalid). */
export interface Rejection {
  id: string;
  version: number;
  field: string;
  rule: string;
  reason: string;
}

export interface BulkPayload {
  actions: BulkAction[];
  /** Invalid documents, not sent (only with skipInvalid). */
  invalid: Rejection[];
}

/**
 * Builds one page's bulk actions. The first document that breaks the schema throws
 * InvalidDataError before anything of the page is sent or marked, unless `skipInvalid`:
 * then it is left out and returned as a rejection.
 */
export function toBulk(
  rows: FilmRow[],
  index: string,
  validate: ValidateFunction<MovieDocument>,
  skipInvalid = false,
): BulkPayload {
  const actions: BulkAction[] = [];
  const invalid: Rejection[] = [];
  for (const row of rows) {
    const meta = { _index: index, _id: row.film_work_id };
    const base = { id: row.film_work_id, version: row.version };
    if (!row.present) {
      actions.push({ ...base, op: 'delete', lines: `${JSON.stringify({ delete: meta })}\n` });
      continue;
    }
    const doc = toDocument(row);
    if (!validate(doc)) {
      const first = validate.errors?.[0];
      const d = first ? describeError(first) : { field: '(document)', rule: 'schema', message: 'is invalid' };
      if (skipInvalid) {
        invalid.push({ ...base, field: d.field, rule: d.rule, reason: d.message });
        continue;
      }
      throw new InvalidDataError(
        `film ${row.film_work_id} is invalid: ${d.message}; rule "${d.rule}" on field "${d.field}". ` +
          'Nothing of its batch was marked indexed (start-etl --skip-invalid indexes the other films and records this one).',
      );
    }
    actions.push({ ...base, op: 'index', lines: `${JSON.stringify({ index: meta })}\n${JSON.stringify(doc)}\n` });
  }
  return { actions, invalid };
}
