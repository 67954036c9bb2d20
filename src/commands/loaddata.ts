import { isDeepStrictEqual } from 'node:util';
import type { Db } from '../db/knex.js';
import type { Catalogue } from '../catalogue/layout.js';
import { defaultCatalogue } from '../catalogue/resolve.js';
import { loadFixtures, type LoadResult } from '../django/load.js';
import { UsageError } from '../core/errors.js';
import type { OnProgress } from '../core/progress.js';

export interface LoaddataOptions {
  db: Db;
  catalogue: Catalogue;
  files: string[];
  /** Told each phase as it begins and how far it is (src/django/load.ts). */
  progress?: OnProgress;
}

export async function loaddata(o: LoaddataOptions): Promise<LoadResult> {
  if (o.files.length === 0) throw new UsageError('loaddata needs at least one fixture file');
  // The loader's statements (src/django/) are written for the default catalogue; on any other it
  // would write tables that are not the catalogue's. Refused, not guessed.
  const d = defaultCatalogue();
  if (o.catalogue.schema !== d.schema || !isDeepStrictEqual(o.catalogue.layout, d.layout)) {
    throw new UsageError(
      `movies loaddata writes the default catalogue (schema ${d.schema}, layout ${d.layoutName}) only, not schema ${o.catalogue.schema} with layout ${o.catalogue.layoutName}: ` +
        "load the data with the application that owns the catalogue (e.g. Django's manage.py loaddata); capture indexes it from there",
    );
  }
  return loadFixtures({ db: o.db, files: o.files, progress: o.progress });
}
