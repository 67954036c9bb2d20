import type { Names } from '../../catalogue/names.js';
import type { DocumentSql } from '../spec.js';

/*
 * Each film's document (mappings/movies.schema.json, MovieDocument) as JSON text, with all
 * genres and people of the film (never only the changed ones). A film whose row is gone comes
 * back with no document (doc null): a delete.
 *
 * People are distinct (id, name, job) triples (links repeat under other pks, see 001), each
 * list sorted by name then id. The genre list is distinct and sorted.
 *
 * The people's subquery is sorted once and its five aggregates take its rows in that order.
 * With an ORDER BY in each aggregate, PostgreSQL 15 sorted each one's input apart: five small
 * sorts per film, which made the page cost ~76 µs of PostgreSQL CPU per film instead of ~57
 * (100k films, same documents byte for byte). PostgreSQL 16+ would share one sort anyway; a
 * subquery with DISTINCT and ORDER BY is never flattened, so its order reaches the aggregates.
 */
export const FILM_DOCUMENT = ({ t, c, text, float }: Names): DocumentSql => ({
  expr: `CASE WHEN fw.id IS NOT NULL THEN json_build_object(
         'id', fw.${c.film_work.id},
         'imdb_rating', ${float('film_work', 'imdb_rating', 'fw')},
         'genre', COALESCE(g.genres, '{}'),
         'title', fw.${c.film_work.title},
         'description', ${text('film_work', 'description', 'fw')},
         'director', COALESCE(p.director, '{}'),
         'actors_names', COALESCE(p.actors_names, '{}'),
         'writers_names', COALESCE(p.writers_names, '{}'),
         'actors', COALESCE(p.actors, '[]'),
         'writers', COALESCE(p.writers, '[]'))::text END`,
  joins: `LEFT JOIN ${t.film_work} fw ON fw.${c.film_work.id} = page.id
LEFT JOIN LATERAL (
  SELECT array_agg(DISTINCT gn.${c.genre.genre}::text ORDER BY gn.${c.genre.genre}::text) AS genres
  FROM ${t.film_work_genre} fwg JOIN ${t.genre} gn ON gn.${c.genre.id} = fwg.${c.film_work_genre.genre_id}
  WHERE fwg.${c.film_work_genre.film_work_id} = fw.${c.film_work.id}
) g ON true
LEFT JOIN LATERAL (
  SELECT array_agg(x.name) FILTER (WHERE x.job = 'director') AS director,
         array_agg(x.name) FILTER (WHERE x.job = 'actor') AS actors_names,
         array_agg(x.name) FILTER (WHERE x.job = 'writer') AS writers_names,
         json_agg(json_build_object('id', x.id, 'name', x.name)) FILTER (WHERE x.job = 'actor') AS actors,
         json_agg(json_build_object('id', x.id, 'name', x.name)) FILTER (WHERE x.job = 'writer') AS writers
  FROM (SELECT DISTINCT pr.${c.person.name}::text AS name, pr.${c.person.id} AS id, fwp.${c.film_work_person.job}::text AS job
        FROM ${t.film_work_person} fwp JOIN ${t.person} pr ON pr.${c.person.id} = fwp.${c.film_work_person.person_id}
        WHERE fwp.${c.film_work_person.film_work_id} = fw.${c.film_work.id}
        ORDER BY 1, 2, 3) x
) p ON true`,
});
