import type { SearchEngine } from '../engine/types.js';
import type { IndexDefinition } from '../indexes/spec.js';
import { HASH_FIELD } from '../indexes/content-hash.js';
import { EngineHttpError } from '../engine/types.js';
import { indexMissing } from '../lifecycle/resolve.js';

export interface SearchResult {
  query: string;
  /** The index's logical name (movies, genres, persons). */
  in: string;
  total: number;
  /** Each hit's document (films: title, imdb_rating, genre…; genres: name; persons: full_name, films) and score. */
  hits: Array<{
    id: string;
    score: number;
    title?: string;
    imdb_rating?: number | null;
    genre?: string[];
    name?: string;
    full_name?: string;
    films?: unknown[];
  }>;
}

export async function search(o: {
  engine: SearchEngine;
  spec: IndexDefinition;
  index: string;
  /** The engine's URL, for the message when the index does not exist. */
  engineUrl: string;
  query: string;
  size: number;
}): Promise<SearchResult> {
  const r = await o.engine.search(o.index, {
    size: o.size,
    // The content hash is for `movies verify`, not for readers of the results.
    _source: { excludes: [HASH_FIELD] },
    query: {
      multi_match: {
        query: o.query,
        operator: 'and',
        fields: [...o.spec.searchFields],
      },
    },
  }).catch((err: unknown) => {
    // The same message (and exit 8) as every other command that needs the index.
    if (err instanceof EngineHttpError && err.errorType === 'index_not_found_exception') throw indexMissing(o.index, o.engine, o.engineUrl);
    throw err;
  });
  return { query: o.query, in: o.spec.name, total: r.total, hits: r.hits as SearchResult['hits'] };
}
