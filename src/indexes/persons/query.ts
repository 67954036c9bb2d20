import type { Names } from '../../catalogue/names.js';
import type { DocumentSql } from '../spec.js';

/*
 * Each person's document (mappings/persons.schema.json, PersonDocument) as JSON text with the
 * complete films list; a gone person has none. The LATERAL aggregates the links of the page's persons only, through the
 * index on film_work_person(person_id), so a page costs its persons' links whatever the size
 * of the catalogue. Links repeat (film, person, job) triples under other pks (see 001):
 * roles are distinct. uuid order equals the order of their lowercase text, so "sorted by film
 * id" means the same in SQL and in JavaScript.
 */
export const PERSON_DOCUMENT = ({ t, c }: Names): DocumentSql => ({
  expr: `CASE WHEN p.id IS NOT NULL THEN
         json_build_object('id', p.${c.person.id}, 'full_name', p.${c.person.name}, 'films', COALESCE(f.films, '[]'))::text END`,
  joins: `LEFT JOIN ${t.person} p ON p.${c.person.id} = page.id
LEFT JOIN LATERAL (
  SELECT json_agg(json_build_object('id', x.film_work_id, 'roles', x.roles) ORDER BY x.film_work_id) AS films
  FROM (SELECT fwp.${c.film_work_person.film_work_id} AS film_work_id, array_agg(DISTINCT fwp.${c.film_work_person.job}::text ORDER BY fwp.${c.film_work_person.job}::text) AS roles
        FROM ${t.film_work_person} fwp
        WHERE fwp.${c.film_work_person.person_id} = p.${c.person.id}
        GROUP BY 1) x
) f ON true`,
});
