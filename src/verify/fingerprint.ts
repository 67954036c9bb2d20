import { createHash } from 'node:crypto';
import { contentHash } from '../indexes/content-hash.js';

/*
 * What `verify --deep` compares instead of the stored hash alone: the stored hash and the md5 of
 * the document's content in canonical JSON. An edit in the engine that keeps content_hash as it
 * was (a partial _update, a document written again with its old hash) changes the content, and
 * the engine may serialize a document it rewrote differently (spacing, key order): the
 * canonical form compares what the documents say, not how they were written.
 */

/** JSON with the keys of every object sorted. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .filter((k) => o[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

const md5 = (s: string) => createHash('md5').update(s, 'utf8').digest('hex');

/** An engine document's fingerprint: its stored hash and its content. */
export const indexedFingerprint = (hash: string | undefined, source: unknown): string => `${hash ?? '-'}/${md5(canonicalJson(source))}`;

/** The fingerprint the document PostgreSQL builds (JSON text) must have once indexed. */
export const expectedFingerprint = (doc: string): string => indexedFingerprint(contentHash(doc), JSON.parse(doc));
