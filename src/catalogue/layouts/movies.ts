import { ENTITIES, ENTITY_NAMES, type Entity, type Layout, type TableLayout } from '../layout.js';

/** The default layout: the original Django models' tables and columns, each under its own name. */
export const moviesLayout = Object.fromEntries(
  ENTITY_NAMES.map((e) => [e, { table: e, columns: Object.fromEntries(ENTITIES[e].map((f) => [f, f])) } as TableLayout<Entity>]),
) as Layout;
