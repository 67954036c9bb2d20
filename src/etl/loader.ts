import { EngineRejectedError } from '../errors.js';
import { engineFailure, isRetryableEngineError } from '../engine/errors.js';
import { EngineHttpError, type BulkItemResult, type SearchEngine } from '../engine/types.js';
import { withRetry } from './retry.js';

export interface LoaderOptions {
  maxRetryTimeMs: number;
  log?(message: string): void;
}

function itemOk(item: BulkItemResult): boolean {
  if (item.status >= 200 && item.status < 300) return true;
  // Deleting a document the index never had is the state we want.
  return item.action === 'delete' && item.status === 404 && !item.error;
}

class ItemsRejected extends Error {
  constructor(readonly items: BulkItemResult[]) {
    super('bulk items rejected');
  }
}

/**
 * Sends one bulk body and resolves only when the engine has acknowledged every action.
 * Whole-request failures (unreachable, 429, 503) and per-item 429s are retried with backoff
 * within --max-retry-time; any other per-item error aborts the run naming the film.
 */
export async function sendBulk(engine: SearchEngine, ndjson: string, opts: LoaderOptions): Promise<void> {
  let body = ndjson;
  try {
    await withRetry(
      async () => {
        const items = await engine.bulk(body);
        const failed = items.filter((i) => !itemOk(i));
        if (failed.length === 0) return;
        const fatal = failed.find((i) => i.status !== 429);
        if (fatal) {
          throw new EngineRejectedError(
            `the engine rejected film ${fatal.id} (${fatal.action}, HTTP ${fatal.status}): ` +
              `${fatal.error?.type ?? 'error'}: ${fatal.error?.reason ?? ''}`,
          );
        }
        // Resend only the throttled actions: lines of the rejected ids.
        body = keepIds(body, new Set(failed.map((i) => i.id)));
        throw new ItemsRejected(failed);
      },
      {
        maxRetryTimeMs: opts.maxRetryTimeMs,
        isRetryable: (e) => isRetryableEngineError(e) || e instanceof ItemsRejected,
        onRetry: (e, n, d) =>
          opts.log?.(
            `bulk ${e instanceof ItemsRejected ? `throttled for ${e.items.length} documents` : (e as Error).message}; ` +
              `retry ${n} in ${Math.round(d)} ms`,
          ),
      },
    );
  } catch (err) {
    if (err instanceof ItemsRejected) {
      throw new EngineRejectedError(
        `the engine kept throttling (429) ${err.items.length} documents past --max-retry-time; nothing of them was marked indexed`,
      );
    }
    throw err instanceof EngineHttpError ? engineFailure(err, 'bulk request') : err;
  }
}

/** Keeps the action (and source) lines whose _id is in `ids`. */
export function keepIds(ndjson: string, ids: Set<string>): string {
  const lines = ndjson.split('\n');
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (!line) continue;
    const action = JSON.parse(line) as Record<string, { _id: string }>;
    const [name, meta] = Object.entries(action)[0]!;
    const hasSource = name === 'index' || name === 'create' || name === 'update';
    if (ids.has(meta._id)) {
      out.push(line);
      if (hasSource) out.push(lines[i + 1]!);
    }
    if (hasSource) i++;
  }
  return out.join('\n') + '\n';
}
