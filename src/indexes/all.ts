import { filmsIndex } from './films/index.js';
import { genresIndex } from './genres/index.js';
import { personsIndex } from './persons/index.js';
import type { IndexSpec } from './spec.js';

/** Every index movies keeps, in the order commands handle them. A fourth goes here and in its own folder. */
export const INDEXES: readonly IndexSpec[] = [filmsIndex as IndexSpec, genresIndex as IndexSpec, personsIndex as IndexSpec];

export const INDEX_NAMES = INDEXES.map((s) => s.name);

export const indexByName = (name: string): IndexSpec | undefined => INDEXES.find((s) => s.name === name);
