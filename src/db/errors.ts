import { ConnectionError, MoviesError, UsageError } from '../errors.js';
import { isTransientPgError } from './retry.js';

/** Turns raw PostgreSQL failures that reach a command into our error classes. */
export async function wrapPgErrors<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof MoviesError) throw err;
    const e = err as { code?: string; message?: string };
    // knex prefixes the whole SQL text to the server's message; users need only the latter.
    const reason = (e?.message ?? '').split(' - ').pop()?.trim();
    if (e?.code === '42P01' || e?.code === '3F000') {
      throw new UsageError(`the database has no movies schema yet (${reason}); run \`movies migrate\` first`);
    }
    if (e?.code === '3D000' || e?.code === '28P01' || e?.code === '28000') {
      throw new ConnectionError(`PostgreSQL refused the connection: ${reason}`);
    }
    if (isTransientPgError(err)) throw new ConnectionError(`PostgreSQL unavailable: ${reason}`, { cause: err });
    throw err;
  }
}
