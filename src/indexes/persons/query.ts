import type { DocumentSql } from '../spec.js';

/*
 * Each person's document (mappings/persons.schema.json, PersonDocument) as JSON text with the
 * complete films list; a gone person has none. The LATERAL aggregates the links of the page's persons only, through the
 * index on film_work_person(person_id), so a page costs its persons' links whatever the size
 * of the catalogue. Links repeat (film, person, job) triples under other pks (see 001):
 * roles are distinct. uuid order equals the order of their lowercase text, so "sorted by film
 * id" means the same in SQL and in JavaScript.
 */
export const PERSON_DOCUMENT: DocumentSql = {
  expr: `CASE WHEN p.id IS NOT NULL THEN
         json_build_object('id', p.id, 'full_name', p.name, 'films', COALESCE(f.films, '[]'))::text END`,
  joins: `LEFT JOIN content.person p ON p.id = page.id
LEFT JOIN LATERAL (
  SELECT json_agg(json_build_object('id', x.film_work_id, 'roles', x.roles) ORDER BY x.film_work_id) AS films
  FROM (SELECT fwp.film_work_id, array_agg(DISTINCT fwp.job ORDER BY fwp.job) AS roles
        FROM content.film_work_person fwp
        WHERE fwp.person_id = p.id
        GROUP BY fwp.film_work_id) x
) f ON true`,
};
