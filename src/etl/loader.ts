import { ConnectionError, EngineRejectedError, IndexMissingError } from '../core/errors.js';
import { engineFailure, floodStageAdvice, isRetryableEngineError } from '../engine/errors.js';
import { EngineHttpError, type BulkItemResult, type SearchEngine } from '../engine/types.js';
import { withRetry, type RetryPolicy } from '../core/retry.js';
import type { Rejection } from '../db/queue.js';
import type { BulkAction, BulkPage } from './transformer.js';
import type { Destination } from './destination.js';

export interface LoaderOptions {
  retry: RetryPolicy;
  /** Record documents the engine refuses as unparseable or too large instead of failing. */
  skipInvalid?: boolean;
  /** What one document is, in messages (the index's noun: film, genre, person); default "document". */
  noun?: string;
}

export interface BulkOutcome {
  /** Actions whose own item in the engine's answer acknowledged them. */
  acknowledged: BulkAction[];
  /** Documents the engine refused for what they are (only with skipInvalid). */
  rejected: Rejection[];
}

/** Per-item statuses after which the same action may succeed: throttled, shard unavailable. */
const RETRYABLE_ITEM = new Set([429, 502, 503, 504]);

/** An answer that does not acknowledge each action of the request by its own item. */
class MalformedAnswer extends Error {}

/** Some items were throttled or hit an unavailable shard; only those are resent. */
class ItemsRetryable extends Error {
  constructor(readonly items: BulkItemResult[]) {
    const statuses = `HTTP ${[...new Set(items.map((i) => i.status))].join('/')}`;
    const flood = items.map((i) => i.error && floodStageAdvice(i.error.type, i.error.reason)).find(Boolean);
    super(flood ? `${items.length} documents not stored (${statuses}): ${flood}` : `${items.length} documents not stored yet (${statuses})`);
  }
}

const isAck = (item: BulkItemResult, action: BulkAction) =>
  (item.status >= 200 && item.status < 300) || (action.op === 'delete' && item.status === 404 && !item.error);

/** A refusal of the document itself (mapping, parse, size), as opposed to the index or the cluster. */
const isDocumentProblem = (item: BulkItemResult) => item.status === 400 || item.status === 413;

const describeItem = (i: BulkItemResult) => `HTTP ${i.status}: ${i.error?.type ?? 'error'}: ${i.error?.reason ?? ''}`.trim();

/**
 * The index behind the alias is gone (require_alias refused the write), or the alias now leads
 * to another index than the one whose pending documents the run takes: nothing of the answer
 * may be marked, and asking again will not help.
 */
function checkDestination(items: BulkItemResult[], dest: Destination): void {
  if (items.some((i) => i.status === 404 && i.error?.type === 'index_not_found_exception')) {
    throw new IndexMissingError(
      `"${dest.write}" no longer leads to an index (${dest.physical} was deleted during the run?); nothing more was ` +
        `marked, and the documents stay pending. Run \`movies init-es\` to rebuild it.`,
    );
  }
  const elsewhere = items.find((i) => ((i.status >= 200 && i.status < 300) || (i.status === 404 && !i.error)) && i.index !== dest.physical);
  if (elsewhere) {
    throw new IndexMissingError(
      `"${dest.write}" now leads to index "${elsewhere.index || '(unnamed)'}", not to ${dest.physical}, whose pending ` +
        `documents this run takes: the alias was moved outside movies. Nothing of that answer was marked; ` +
        `run \`movies init-es\` to rebuild under movies' control.`,
    );
  }
}

/**
 * Sends one page's actions and resolves only when each one was acknowledged by its own item
 * in the engine's answer (or, with skipInvalid, refused for what the document is). An answer
 * that is not one item per action, in order, with the action's _id is a failed request.
 * Whole-request failures, malformed answers and per-item 429/502/503/504 are retried within the
 * budget, resending only what is not acknowledged (sliced from the kept body); a request too large for the engine (413) is
 * split in halves. Anything else fails the page, naming the document by the index's noun.
 */
export async function sendBulk(engine: SearchEngine, page: BulkPage, dest: Destination, opts: LoaderOptions): Promise<BulkOutcome> {
  const outcome: BulkOutcome = { acknowledged: [], rejected: [] };
  const groups: BulkAction[][] = [page.actions];
  while (groups.length > 0) {
    const group = groups.shift()!;
    try {
      await sendGroup(engine, page.body, group, dest, opts, outcome);
    } catch (err) {
      if (!(err instanceof EngineHttpError && err.statusCode === 413)) throw err;
      if (group.length > 1) {
        const mid = Math.ceil(group.length / 2);
        groups.unshift(group.slice(0, mid), group.slice(mid));
        continue;
      }
      const a = group[0]!;
      const bytes = Buffer.byteLength(page.body.slice(a.start, a.end));
      const reason = `document of ${bytes.toLocaleString('en')} bytes is larger than the engine accepts (HTTP 413)`;
      if (!opts.skipInvalid) throw new EngineRejectedError(`the engine rejected ${opts.noun ?? 'document'} ${a.id}: ${reason}`);
      outcome.rejected.push({ id: a.id, version: a.version, field: '(document)', rule: 'engine:too_large', reason });
    }
  }
  return outcome;
}

/** The NDJSON of `actions`: one slice of the page's body when they are contiguous (the first send, a split half). */
function bodyOf(body: string, actions: BulkAction[]): string {
  const contiguous = actions.every((a, i) => i === 0 || actions[i - 1]!.end === a.start);
  if (contiguous) return body.slice(actions[0]!.start, actions[actions.length - 1]!.end);
  return actions.map((a) => body.slice(a.start, a.end)).join('');
}

async function sendGroup(
  engine: SearchEngine,
  body: string,
  group: BulkAction[],
  dest: Destination,
  opts: LoaderOptions,
  outcome: BulkOutcome,
): Promise<void> {
  let todo = group;
  try {
    await withRetry(
      async () => {
        const items = await engine.bulk(bodyOf(body, todo), { requireAlias: dest.viaAlias });
        checkDestination(items, dest);
        if (items.length !== todo.length || items.some((item, i) => item.id !== todo[i]!.id)) {
          throw new MalformedAnswer(
            `the engine answered the bulk request of ${todo.length} actions with ${items.length} matching items`,
          );
        }
        const retry: BulkAction[] = [];
        const retryItems: BulkItemResult[] = [];
        todo.forEach((action, i) => {
          const item = items[i]!;
          if (isAck(item, action)) return void outcome.acknowledged.push(action);
          if (RETRYABLE_ITEM.has(item.status)) {
            retry.push(action);
            retryItems.push(item);
            return;
          }
          if (opts.skipInvalid && action.op === 'index' && isDocumentProblem(item)) {
            outcome.rejected.push({
              id: action.id,
              version: action.version,
              field: '(document)',
              rule: `engine:${item.error?.type ?? item.status}`,
              reason: describeItem(item).slice(0, 500),
            });
            return;
          }
          throw new EngineRejectedError(`the engine rejected ${opts.noun ?? 'document'} ${action.id} (${action.op}, ${describeItem(item)})`);
        });
        todo = retry;
        if (retry.length > 0) throw new ItemsRetryable(retryItems);
      },
      opts.retry,
      {
        isRetryable: (e) => isRetryableEngineError(e) || e instanceof ItemsRetryable || e instanceof MalformedAnswer,
        describe: (e) => `bulk: ${(e as Error).message}`,
      },
    );
  } catch (err) {
    if (err instanceof ItemsRetryable || err instanceof MalformedAnswer) {
      throw new ConnectionError(
        `search engine unavailable past --max-retry-time: ${err.message}; nothing of them was marked indexed`,
        { cause: err },
      );
    }
    if (err instanceof EngineHttpError && err.statusCode !== 413) throw engineFailure(err, 'bulk request');
    throw err;
  }
}
