import type { Catalogue, Entity, Field } from './layout.js';

/** A PostgreSQL identifier, quoted: layouts may name tables and columns anything. */
export const ident = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/** The schema movies keeps its own objects in (queues, targets, runs, capture functions), apart from the catalogue. */
export const OWN_SCHEMA = 'movies';
/** One of movies' own objects, schema-qualified and quoted. */
export const own = (name: string): string => `${ident(OWN_SCHEMA)}.${ident(name)}`;

/**
 * The SQL names of one catalogue: `t.film_work` is the quoted, schema-qualified table; `c.film_work.title`
 * a quoted column (throws for an absent one, which a layout may only leave out where REQUIRED allows).
 */
export interface Names {
  schema: string;
  t: Record<Entity, string>;
  c: { [E in Entity]: Record<Field<E>, string> };
  /** `alias.column` as text, '' when the layout has no such column or it is NULL (as the default layout's NOT NULL DEFAULT ''). */
  text<E extends Entity>(e: E, f: Field<E>, alias: string): string;
  /** `alias.column` as float8, NULL when absent (numeric would print 8.60 where float8 prints 8.6). */
  float<E extends Entity>(e: E, f: Field<E>, alias: string): string;
  /** Whether the layout maps this column. */
  has<E extends Entity>(e: E, f: Field<E>): boolean;
}

export function names(cat: Catalogue): Names {
  const schema = ident(cat.schema);
  const t = {} as Record<Entity, string>;
  const c = {} as Names['c'];
  for (const [e, tl] of Object.entries(cat.layout) as [Entity, { table: string; columns: Record<string, string | null> }][]) {
    t[e] = `${schema}.${ident(tl.table)}`;
    // Absent columns are non-enumerable getters that throw: a statement naming one is a bug in
    // movies (REQUIRED says which fields a layout must map), never a silent "undefined" in SQL.
    const cols: Record<string, string> = {};
    for (const [f, col] of Object.entries(tl.columns)) {
      if (col) cols[f] = ident(col);
      else
        Object.defineProperty(cols, f, {
          enumerable: false,
          get: () => {
            throw new Error(`layout ${cat.layoutName} maps no column for ${e}.${f}`);
          },
        });
    }
    c[e] = cols as never;
  }
  const col = (e: Entity, f: string) => (cat.layout[e].columns as Record<string, string | null>)[f] ?? null;
  return {
    schema,
    t,
    c,
    has: (e, f) => col(e, f) !== null,
    text: (e, f, alias) => (col(e, f) ? `COALESCE(${alias}.${ident(col(e, f)!)}::text, '')` : `''::text`),
    float: (e, f, alias) => (col(e, f) ? `${alias}.${ident(col(e, f)!)}::float8` : 'NULL::float8'),
  };
}
