import { shipped } from '../shipped.js';
import type { IndexSpec } from '../spec.js';
import type { PersonDocument } from './document.js';
import { PERSON_PAGE_SQL } from './query.js';

/**
 * One document per person, also those without films: {id, full_name, films: [{id, roles}]}.
 * Capture triggers (person rows and their film_work_person links) in migration 004.
 */
export const personsIndex: IndexSpec<PersonDocument> = {
  name: 'persons',
  noun: 'person',
  queue: { table: 'person_change', idColumn: 'person_id', rejectedTable: 'person_rejected' },
  pageSql: PERSON_PAGE_SQL,
  schemaPath: shipped('persons.schema.json'),
  mappings: { default: shipped('persons.json'), nostem: shipped('persons.nostem.json') },
  searchFields: ['full_name'],
  allIdsSql: 'SELECT id FROM content.person',
};
