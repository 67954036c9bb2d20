import type { Db } from '../db/knex.js';
import { loadFixtures, type LoadResult } from '../django/load.js';
import { UsageError } from '../errors.js';

export interface LoaddataOptions {
  db: Db;
  files: string[];
  progress?(objects: number): void;
}

export async function loaddata(o: LoaddataOptions): Promise<LoadResult> {
  if (o.files.length === 0) throw new UsageError('loaddata needs at least one fixture file');
  return loadFixtures({ db: o.db, files: o.files, progress: o.progress });
}
