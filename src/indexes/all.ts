import { filmsIndex } from './films/index.js';
import { genresIndex } from './genres/index.js';
import { personsIndex } from './persons/index.js';
import type { IndexDefinition } from './spec.js';

/** Every index movies keeps, in the order commands handle them. A fourth goes here and in its own folder. */
export const INDEXES: readonly IndexDefinition[] = [filmsIndex as IndexDefinition, genresIndex as IndexDefinition, personsIndex as IndexDefinition];

export const INDEX_NAMES = INDEXES.map((s) => s.name);

export const indexByName = (name: string): IndexDefinition | undefined => INDEXES.find((s) => s.name === name);
