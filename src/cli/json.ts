import { redactUrl } from '../core/redact.js';
import type { IndexChoice } from '../config/types.js';
import type { SearchEngine } from '../engine/types.js';
import type { InitEsResult } from '../commands/init-es.js';
import type { RollbackCommandResult } from '../commands/rollback.js';
import type { StartEtlResult } from '../commands/start-etl.js';
import type { StatusResult } from '../commands/status.js';
import type { TargetListing } from '../commands/targets.js';
import type { VerifyResult } from '../commands/verify.js';
import type { SearchResult } from '../commands/search.js';
import type { WatchResult } from '../watch/loop.js';
import type { CaptureStatus } from '../capture/status.js';
import type { IndexRun } from '../lifecycle/run-index.js';
import type { LoadResult } from '../django/load.js';

/*
 * The one --json schema (docs/json.md), decided here for every command: the commands return what
 * their callers need, and these functions give each result the shape scripts read. Human output
 * (render.ts) reads the commands' results as they are.
 *
 * - `engine` is always {kind, version, url} (url without credentials) when a command talks to one;
 * - `indexes` is always an array, one object per index with `index` (the alias) and `name` (movies,
 *   genres, persons); a count of an index's catalogue rows is under its own noun (films, genres, persons);
 * - every duration is `seconds` or `…Seconds`, in seconds rounded to milliseconds (roundSeconds).
 */

/** Every duration in --json: seconds, rounded to milliseconds. */
export const roundSeconds = (s: number) => Math.round(s * 1000) / 1000;
/** Rates (documents per second), to one decimal. */
const roundRate = (r: number) => Math.round(r * 10) / 10;

export interface EngineJson {
  kind: string | null;
  version: string | null;
  url: string;
}

/** The engine a command talked to; kind and version are null when it could not be reached. */
export const engineJson = (engine: Pick<SearchEngine, 'kind' | 'version'> | null, url: string): EngineJson => ({
  kind: engine?.kind ?? null,
  version: engine?.version ?? null,
  url: redactUrl(url),
});

/** A target row's engine ("elasticsearch 9.5.4", recorded when it was created) as the same object. */
function recordedEngine(engine: string | null, url: string | null): EngineJson {
  const [kind, version] = (engine ?? '').split(' ');
  return { kind: kind || null, version: version || null, url: url ? redactUrl(url) : '' };
}

/** What the documents of an index are called: films, genres, persons. */
const nounOf = (choice: IndexChoice | undefined, name: string) => `${choice?.spec.noun ?? name}s`;

/** A one-shot run's (or a sum's) figures: durations rounded, queryMs as querySeconds. */
function runFigures<T extends { seconds: number; docsPerSecond: number; queryMs: number }>(r: T) {
  const { queryMs, ...rest } = r;
  return { ...rest, seconds: roundSeconds(r.seconds), docsPerSecond: roundRate(r.docsPerSecond), querySeconds: roundSeconds(queryMs / 1000) };
}

export function loaddata(r: LoadResult) {
  const phases = Object.fromEntries(Object.entries(r.phases).map(([k, v]) => [k, roundSeconds(v)]));
  return { ...r, seconds: roundSeconds(r.seconds), phases, analyzed: { ...r.analyzed, seconds: roundSeconds(r.analyzed.seconds) } };
}

export function initEs(r: InitEsResult, engine: EngineJson) {
  const indexes = r.indexes.map(({ engine: _kind, version: _version, ...i }) => ({ ...i, seconds: roundSeconds(i.seconds) }));
  // The first index's fields stay at the top, as before several indexes (scripts read .physical).
  return { ...indexes[0]!, engine, indexes };
}

export function rollback(r: RollbackCommandResult, engine: EngineJson, choices: IndexChoice[]) {
  const indexes = r.indexes.map((i, n) => ({ index: choices[n]!.index, name: choices[n]!.spec.name, ...i, seconds: roundSeconds(i.seconds) }));
  return { ...indexes[0]!, engine, indexes };
}

export function startEtl(r: StartEtlResult, engine: EngineJson) {
  const { indexes, engine: _kind, index: _index, ...totals } = r;
  return {
    // Totals over every index at the top.
    ...runFigures(totals),
    engine,
    indexes: Object.entries(indexes).map(([name, { index, ...i }]: [string, IndexRun]) => ({
      index,
      name,
      ...runFigures(i),
      lagSeconds: roundSeconds(i.lagSeconds),
    })),
  };
}

export function watch(r: WatchResult, engine: EngineJson) {
  return { ...r, seconds: roundSeconds(r.seconds), engine };
}

export function verify(r: VerifyResult, engine: EngineJson) {
  return {
    engine,
    drift: r.drift,
    indexes: Object.values(r.indexes).map((i) => ({ ...i, seconds: roundSeconds(i.seconds) })),
  };
}

export function search(r: SearchResult, engine: EngineJson, index: string) {
  return { ...r, index, name: r.in, engine };
}

function statusIndex(s: StatusResult, choice: IndexChoice | undefined) {
  const { index, name, films, engine: _engine, oldestChangeSeconds, targets, ...rest } = s;
  return {
    index,
    name,
    ...rest,
    [nounOf(choice, name)]: films,
    documents: s.engine.documents,
    oldestChangeSeconds: roundSeconds(oldestChangeSeconds),
    // Why the index could not be judged (engine unreachable, index missing); `error` is the --json error object only.
    ...(s.engine.error ? { reason: s.engine.error } : {}),
    targets: targets.map(({ engine: e, url, ...t }) => ({ ...t, engine: recordedEngine(e, url), oldestChangeSeconds: roundSeconds(t.oldestChangeSeconds) })),
  };
}

/**
 * Status of every index: the first index's fields at the top (as before several indexes), the
 * worst health of all (it decides the exit code), the engine and capture.
 */
export function status(
  results: StatusResult[],
  health: StatusResult['health'],
  capture: CaptureStatus,
  engine: EngineJson,
  engineError: string | undefined,
  choices: IndexChoice[],
) {
  const indexes = results.map((s) => statusIndex(s, choices.find((c) => c.spec.name === s.name)));
  return {
    ...indexes[0]!,
    health,
    // The cluster's health and why the engine could not be reached are the engine's, not an index's.
    engine: { ...engine, cluster: results[0]!.engine.cluster, ...(engineError ? { error: engineError } : {}) },
    capture,
    indexes,
  };
}

const targetJson = ({ engine, url, ...t }: TargetListing) => ({ ...t, engine: recordedEngine(engine, url) });

export const targets = (list: TargetListing[]) => ({ targets: list.map(targetJson) });
export const dropped = (t: TargetListing, done: boolean) => ({ ...targetJson(t), dropped: done });
