import type { SearchEngine } from '../engine/types.js';
import type { IndexSpec } from '../indexes/spec.js';

export interface SearchResult {
  query: string;
  total: number;
  hits: Array<{ id: string; title: string; imdb_rating: number | null; genre: string[]; score: number }>;
}

export async function search(o: {
  engine: SearchEngine;
  spec: IndexSpec;
  index: string;
  query: string;
  size: number;
}): Promise<SearchResult> {
  const r = await o.engine.search(o.index, {
    size: o.size,
    query: {
      multi_match: {
        query: o.query,
        operator: 'and',
        fields: [...o.spec.searchFields],
      },
    },
  });
  return { query: o.query, total: r.total, hits: r.hits as SearchResult['hits'] };
}
