import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';

/** A document validator compiled from an index's JSON schema (IndexSpec.schemaPath). */
export function loadValidator<Doc = unknown>(path: string): ValidateFunction<Doc> {
  const ajv = new Ajv({ allErrors: false, strict: true });
  return ajv.compile<Doc>(JSON.parse(readFileSync(path, 'utf8')));
}

/** The field an ajv error is about, dotted ("actors.0.name"), including unknown and missing ones. */
export function errorField(e: ErrorObject, whole = '(document)'): string {
  const extra =
    e.keyword === 'additionalProperties'
      ? `/${String(e.params.additionalProperty)}`
      : e.keyword === 'required'
        ? `/${String(e.params.missingProperty)}`
        : '';
  return (e.instancePath + extra).replace(/^\//, '').replace(/\//g, '.') || whole;
}

/** "imdb_rating must be <= 10 (maximum)" from ajv's first error. */
export function describeError(e: ErrorObject): { field: string; rule: string; message: string } {
  const field = errorField(e);
  return { field, rule: e.keyword, message: `${field} ${e.message ?? 'is invalid'} (${e.keyword})` };
}
