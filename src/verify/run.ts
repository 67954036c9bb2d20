import type { Db } from '../db/knex.js';
import { pendingStats } from '../db/queue.js';
import { withPgRetry } from '../db/retry.js';
import { withEngineRetry } from '../engine/errors.js';
import { EngineHttpError, type DocStamp, type SearchEngine } from '../engine/types.js';
import { HASH_FIELD } from '../indexes/content-hash.js';
import type { IndexSpec } from '../indexes/spec.js';
import { interrupted, type RetryPolicy } from '../core/retry.js';
import { suspects, type Suspect } from './compare.js';
import { confirm, isUuid, type Readers } from './confirm.js';
import { currentOf, expectedPage, pendingOf, type Current } from './expected.js';
import { Cursor, keysetPages } from './pages.js';
import { indexedFingerprint } from './fingerprint.js';
import { repair, type Repaired } from './repair.js';
import type { OnProgress } from '../core/progress.js';

const NIL_UUID = '00000000-0000-0000-0000-000000000000';
/** Sample ids shown per kind of drift. */
const SAMPLE = 10;
/*
 * Documents without an `id` field have no sort key, so only one window of them can be listed
 * (the engine's default max_result_window); more are counted and left for the next verify.
 */
const UNKEYED_WINDOW = 10_000;

export interface VerifyOptions {
  db: Db;
  engine: SearchEngine;
  spec: IndexSpec;
  /** The target: its queue rows and the concrete index behind the alias. */
  target: number;
  physical: string;
  /** Documents per page read from each side. */
  pageSize: number;
  repair: boolean;
  /** Compare whole documents too, not only the stored hashes (fingerprint.ts). */
  deep?: boolean;
  retry: RetryPolicy;
  /**
   * Moves captured changes into the queues (src/capture/): called before each reading of them, so
   * that a change committed before the reading is pending, not drift, whatever the capture mode.
   */
  collect(): Promise<unknown>;
  /** Told each step as it begins and how far the comparison is, out of the documents the database says should exist. */
  progress?: OnProgress;
}

export interface DriftCount {
  count: number;
  /** The first ids found. */
  sample: string[];
}

export interface TargetVerify {
  target: number;
  physical: string;
  /** Documents the database says should exist, all compared. */
  database: number;
  /** Documents in the index when the comparison ended. */
  indexed: number;
  missing: DriftCount;
  stale: DriftCount;
  orphan: DriftCount;
  /** missing + stale + orphan. */
  drift: number;
  /** Documents that differ but are pending: not drift, the next run brings them in step. */
  pending: number;
  /** Documents still changing through every reading (writers and a run at work): not drift. */
  changing: number;
  /**
   * The target's pending documents when the comparison began, and when it ended (after --repair
   * queued the drift). Writers queue more meanwhile and a run marks some, so `pending` (the
   * differences met all through) is a part of neither.
   */
  queued: number;
  queuedAtEnd: number;
  /** Stale documents that carry no content hash (indexed before documents had one): `movies init-es` rewrites them all. */
  unhashed: number;
  /** Documents without an `id` field beyond the window verify can list: run verify again after a repair. */
  unlisted: number;
  repaired?: Repaired;
  seconds: number;
}

const empty = (): DriftCount => ({ count: 0, sample: [] });

/**
 * Compares one target's index with the database: both sides are read in id order, ids and
 * hashes only, and merged; what differs is read again (confirm.ts) before it is called drift.
 * Memory is a page of each side and one stretch of suspects, whatever the size of either.
 */
export async function verifyTarget(o: VerifyOptions): Promise<TargetVerify> {
  const started = performance.now();
  const pg = <T>(fn: () => Promise<T>) => withPgRetry(fn, o.retry);
  const eng = <T>(what: string, fn: () => Promise<T>) => withEngineRetry(what, fn, o.retry);
  o.progress?.({ phase: 'collecting changes' });
  const report: TargetVerify = {
    target: o.target,
    physical: o.physical,
    database: 0,
    indexed: 0,
    missing: empty(),
    stale: empty(),
    orphan: empty(),
    drift: 0,
    pending: 0,
    changing: 0,
    queued: (
      await pg(async () => {
        await o.collect();
        return pendingStats(o.db, o.spec.queue, o.target);
      })
    ).pending,
    queuedAtEnd: 0,
    unhashed: 0,
    unlisted: 0,
    seconds: 0,
  };
  if (o.repair) report.repaired = { enqueued: 0, deleted: 0 };

  const deep = o.deep ?? false;
  const read = { hashField: HASH_FIELD, source: deep };
  // With --deep, a document's "hash" is its fingerprint: stored hash and canonical content.
  const fingerprinted = (docs: DocStamp[]): DocStamp[] =>
    deep ? docs.map(({ source, ...d }) => ({ ...d, hash: indexedFingerprint(d.hash, source ?? {}) })) : docs;
  const readers: Readers = {
    engine: async (ids) => fingerprinted(await eng('reading documents', () => o.engine.getStamps(o.physical, ids, read))),
    /*
     * Captured changes reach the queue only when collected (logical capture: after their commit),
     * so the documents' state is read after a collect and their pending flags once more after a
     * second one: a change the reading saw is then either pending or was marked by a run, which
     * wrote a document at least as new first (the next reading of the engine has it). Without
     * the second look, a change committed between the collect and the reading would look like
     * drift, and twice if a run marked it meanwhile.
     */
    database: (ids) =>
      pg(async () => {
        await o.collect();
        const now = await currentOf(o.db, o.spec, o.target, ids, deep);
        await o.collect();
        const later = await pendingOf(o.db, o.spec, o.target, ids.filter((id) => now.get(id) && !now.get(id)!.pending));
        for (const id of later) now.get(id)!.pending = true;
        return now;
      }),
  };
  /*
   * A document under an _id its `id` field does not name (or without one) matches nothing in
   * the merge. If the database has that _id, the merge finds the id without its document and
   * reads it as such; so here it only counts when the database does not have it (an orphan).
   */
  const settle = async (found: Suspect[]) => {
    if (found.length === 0) return;
    if (o.retry.signal?.aborted) throw interrupted(o.retry.signal);
    const strays = found.filter((s) => s.stray && isUuid(s.id)).map((s) => s.id);
    const known = strays.length > 0 ? await readers.database(strays) : new Map<string, Current>();
    const ids = found.filter((s) => !(s.stray && known.get(s.id)?.hash)).map((s) => s.id);
    const v = await confirm(ids, readers);
    report.pending += v.pending.length;
    report.changing += v.changing.length;
    for (const d of v.drifted) {
      tally(report[d.kind], d.id);
      if (d.unhashed) report.unhashed++;
    }
    report.drift += v.drifted.length;
    if (o.repair && v.drifted.length > 0) {
      // Both steps may run again after an outage: enqueueing and deleting are idempotent.
      const r = await eng('repairing', () => pg(() => repair(o, v.drifted)));
      report.repaired!.enqueued += r.enqueued;
      report.repaired!.deleted += r.deleted;
    }
  };

  o.progress?.({ phase: 'refreshing the index' });
  // The sorted reading sees what was refreshed: without this, a write of the last second (or of
  // longer, on a shard that is search-idle and skips its scheduled refreshes) is not compared.
  await eng('refreshing the index', () => o.engine.refresh(o.physical));
  // Documents written by hand without an `id` field are outside the sorted reading.
  o.progress?.({ phase: 'reading documents without an id' });
  const unkeyed = await eng('reading the index', () => o.engine.unkeyedStamps(o.physical, { size: UNKEYED_WINDOW, hashField: HASH_FIELD }));
  report.unlisted = unkeyed.total - unkeyed.stamps.length;
  await settle(unkeyed.stamps.map((d) => ({ id: d._id, kind: 'orphan', stray: true })));

  /*
   * The sorted reading must account for the documents the index itself counts. An engine that
   * answers a search with an empty (or short) list of hits while its _count says otherwise has
   * not shown us its documents: read as it stands, every film would be "missing" and --repair
   * would queue the catalogue. So when the reading ends, it must have seen at least what the
   * index counted before it and counts now (the lower of the two), less what a run may have
   * deleted meanwhile (at most the target's pending documents, before and now). Short of that,
   * the last page is a failed reading: retried within the budget, then exit 3.
   */
  o.progress?.({ phase: 'counting documents' });
  const countedBefore = await eng('counting documents', () => o.engine.count(o.physical));
  // Only for progress: the comparison's total. The reading itself does not rely on it (writers change it meanwhile).
  const expectedTotal = Number(
    (await pg(() => o.db.raw<{ rows: Array<{ n: string }> }>(`SELECT count(*) AS n FROM (${o.spec.allIdsSql}) AS a`))).rows[0]!.n,
  );
  const unit = `${o.spec.noun ?? 'document'}s`;
  o.progress?.({ phase: 'comparing', done: 0, total: expectedTotal, unit });
  let seen = unkeyed.total;
  const wholeReading = async (page: DocStamp[]) => {
    if (page.length >= o.pageSize) return;
    const counted = Math.min(countedBefore, await o.engine.count(o.physical));
    const read = seen + page.length;
    if (read >= counted) return;
    const pendingNow = (await pg(() => pendingStats(o.db, o.spec.queue, o.target))).pending;
    if (read + report.queued + pendingNow >= counted) return;
    throw new EngineHttpError(
      `the index's sorted reading returned ${read.toLocaleString('en')} documents where its _count says ${counted.toLocaleString('en')}: a failed reading, not drift`,
      undefined,
      'malformed',
    );
  };
  const expected = new Cursor(
    keysetPages((after) => pg(() => expectedPage(o.db, o.spec, after ?? NIL_UUID, o.pageSize, deep)), (e) => e.id, o.pageSize)[Symbol.asyncIterator](),
  );
  const indexed = new Cursor<DocStamp>(
    keysetPages(
      async (after) => {
        const page = await eng('reading the index', async () => {
          const p = await o.engine.stamps(o.physical, { after, size: o.pageSize, ...read });
          await wholeReading(p);
          return p;
        });
        seen += page.length;
        return fingerprinted(page);
      },
      (d) => d.id!,
      o.pageSize,
    )[Symbol.asyncIterator](),
  );
  for await (const stretch of suspects(expected, indexed, Math.min(o.pageSize, 1_000))) {
    if (o.retry.signal?.aborted) throw interrupted(o.retry.signal);
    await settle(stretch.suspects);
    report.database = stretch.compared;
    o.progress?.({ phase: 'comparing', done: stretch.compared, total: Math.max(expectedTotal, stretch.compared), unit });
  }
  report.indexed = await eng('counting documents', () => o.engine.count(o.physical));
  report.queuedAtEnd = (await pg(() => pendingStats(o.db, o.spec.queue, o.target))).pending;
  report.seconds = (performance.now() - started) / 1000;
  return report;
}

function tally(c: DriftCount, id: string): void {
  c.count++;
  if (c.sample.length < SAMPLE) c.sample.push(id);
}

