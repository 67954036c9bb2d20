import { shipped } from '../shipped.js';
import type { ChangeQueue, IndexDefinition } from '../spec.js';
import type { PersonDocument } from './document.js';
import { PERSON_DOCUMENT } from './query.js';
import { pendingPageSql } from '../document-sql.js';

const queue: ChangeQueue = { table: 'person_change', idColumn: 'person_id', rejectedTable: 'person_rejected' };

/**
 * One document per person, also those without films: {id, full_name, films: [{id, roles}]}.
 * Capture triggers (person rows and their film_work_person links) in migration 004.
 */
export const personsIndex: IndexDefinition<PersonDocument> = {
  name: 'persons',
  noun: 'person',
  queue,
  sql: (n) => ({
    document: PERSON_DOCUMENT(n),
    pageSql: pendingPageSql(queue, PERSON_DOCUMENT(n)),
    allIdsSql: `SELECT ${n.c.person.id} FROM ${n.t.person}`,
  }),
  schemaPath: shipped('persons.schema.json'),
  mappings: { default: shipped('persons.json'), nostem: shipped('persons.nostem.json') },
  searchFields: ['full_name'],
};
