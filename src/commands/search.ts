import type { SearchEngine } from '../engine/types.js';

export interface SearchResult {
  query: string;
  total: number;
  hits: Array<{ id: string; title: string; imdb_rating: number | null; genre: string[]; score: number }>;
}

export async function search(o: { engine: SearchEngine; index: string; query: string; size: number }): Promise<SearchResult> {
  const r = await o.engine.search(o.index, {
    size: o.size,
    query: {
      multi_match: {
        query: o.query,
        operator: 'and',
        fields: ['title^3', 'description', 'director^2', 'actors_names', 'writers_names', 'genre'],
      },
    },
  });
  return { query: o.query, total: r.total, hits: r.hits as SearchResult['hits'] };
}
