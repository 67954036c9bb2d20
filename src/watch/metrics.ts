import http from 'node:http';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { TargetQueue } from '../db/queue-stats.js';
import {
  ConnectionError,
  EngineRejectedError,
  IndexMissingError,
  InvalidDataError,
  LockedError,
  UnsupportedError,
  UsageError,
} from '../core/errors.js';
import { toMoviesError } from '../db/errors.js';
import { VERSION } from '../core/version.js';

/** Every kind failureKind() gives: movies_failures_total has a series for each from the start. */
export const FAILURE_KINDS = ['outage', 'index_missing', 'engine_rejected', 'invalid_data', 'locked', 'configuration', 'internal'] as const;
export type FailureKind = (typeof FAILURE_KINDS)[number];

/** What kind of failure a cycle met, for movies_failures_total{kind} and the logs. */
export function failureKind(raw: unknown): FailureKind {
  // A raw PostgreSQL failure (a read timeout, ECONNREFUSED) is classed where pg errors are.
  const err = toMoviesError(raw);
  if (err instanceof ConnectionError) return 'outage';
  if (err instanceof IndexMissingError) return 'index_missing';
  if (err instanceof EngineRejectedError) return 'engine_rejected';
  if (err instanceof InvalidDataError) return 'invalid_data';
  if (err instanceof LockedError) return 'locked';
  if (err instanceof UnsupportedError || err instanceof UsageError) return 'configuration';
  return 'internal';
}

/**
 * The watch loop's figures in Prometheus form (names documented in docs/operating/watch.md).
 * One registry per loop, so that tests can run several in one process. Every series a rule
 * may look at exists from the first scrape (at 0), so that `rate()` and `absent()` see it
 * before the first event.
 */
export class WatchMetrics {
  readonly registry = new Registry();
  /*
   * Pending documents and lag are read from the database (src/watch/queue-reader.ts), apart from
   * the cycles: a cycle that cannot finish (the engine failing, a request hanging) must not
   * leave them at their last success. Between two readings, and while the database cannot be
   * read, the lag grows from the oldest change last seen.
   */
  private readonly queueReadings = new Map<string, { pending: number; lagSeconds: number; at: number }>();
  readonly pending: Gauge = new Gauge({
    name: 'movies_pending_documents',
    help: 'Documents waiting to be indexed or deleted, per index',
    labelNames: ['index'],
    registers: [this.registry],
    collect: (): void => {
      for (const [index, r] of this.queueReadings) this.pending.set({ index }, r.pending);
    },
  });
  readonly lag: Gauge = new Gauge({
    name: 'movies_lag_seconds',
    help: 'Age of the oldest pending change, per index (0 when none is pending)',
    labelNames: ['index'],
    registers: [this.registry],
    collect: (): void => {
      for (const index of this.queueReadings.keys()) this.lag.set({ index }, this.lagOf(index));
    },
  });
  readonly indexed = new Counter({ name: 'movies_documents_indexed_total', help: 'Documents written and acknowledged', labelNames: ['index'], registers: [this.registry] });
  readonly deleted = new Counter({ name: 'movies_documents_deleted_total', help: 'Documents deleted and acknowledged', labelNames: ['index'], registers: [this.registry] });
  readonly failures = new Counter({ name: 'movies_failures_total', help: `Failed cycles and start-up attempts, by kind (${FAILURE_KINDS.join(', ')})`, labelNames: ['kind'], registers: [this.registry] });
  readonly cycles = new Histogram({
    name: 'movies_cycle_duration_seconds',
    help: 'Time of one index cycle that had work: the index brought up to date',
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });
  readonly lastSuccess = new Gauge({ name: 'movies_last_success_timestamp_seconds', help: 'When a cycle last succeeded (Unix time)', registers: [this.registry] });
  /** What /healthz says; set by the watch loop, read at each scrape so that both always agree. */
  health: () => { ok: boolean } = () => ({ ok: false });
  readonly healthy: Gauge = new Gauge({
    name: 'movies_healthy',
    help: '1 when no index is failing and every lag is within --max-lag (what /healthz says), else 0',
    registers: [this.registry],
    collect: (): void => this.healthy.set(this.health().ok ? 1 : 0),
  });

  /*
   * Every target of the watched indexes, on any cluster and in any state: a target nobody runs
   * (a retired cluster, an unreachable one) only shows here. Labels are the index, the target's
   * id and its state; a database keeps a few targets per index (one live per cluster, --keep
   * kept ones), and a dropped target's series goes with the next reading.
   */
  private readonly targetReadings = new Map<string, { queues: TargetQueue[]; at: number }>();
  readonly targetQueueRows: Gauge = new Gauge({
    name: 'movies_target_queue_rows',
    help: 'Rows pending in the queue for each target of a watched index, by target id and state (live, building, kept)',
    labelNames: ['index', 'target', 'state'],
    registers: [this.registry],
    collect: (): void => this.fillTargetGauge(this.targetQueueRows, (q) => q.rows),
  });
  readonly targetOldestChange: Gauge = new Gauge({
    name: 'movies_target_oldest_change_seconds',
    help: 'Age of the oldest change pending for each target of a watched index (0 when none is pending)',
    labelNames: ['index', 'target', 'state'],
    registers: [this.registry],
    // It goes on growing between two readings, and while the database cannot be read.
    collect: (): void => this.fillTargetGauge(this.targetOldestChange, (q, sinceRead) => (q.rows > 0 ? q.oldestChangeSeconds + sinceRead : 0)),
  });

  /** Logical capture's slot, read by the collector (src/watch/collector.ts); 0 in trigger mode. */
  readonly slotRetained = new Gauge({ name: 'movies_slot_retained_wal_bytes', help: 'WAL the server keeps for logical capture\'s replication slot (0 with trigger capture)', registers: [this.registry] });
  readonly slotLag = new Gauge({ name: 'movies_slot_lag_bytes', help: 'WAL written after what logical capture has read from its slot (0 with trigger capture)', registers: [this.registry] });
  readonly slotLost = new Gauge({ name: 'movies_slot_lost', help: '1 when logical capture\'s replication slot is gone or invalidated (run init-es), else 0', registers: [this.registry] });

  readonly buildInfo = new Gauge({ name: 'movies_build_info', help: 'Always 1: the movies version, the Node.js version and the engine kind in use', labelNames: ['version', 'node', 'engine'], registers: [this.registry] });

  /**
   * @param indexes the watched indexes' logical names (the `index` label)
   * @param engine the engine kind in use, or as configured ("auto") until the watch has connected
   */
  constructor(indexes: readonly string[], engine: string) {
    // Standard names (process_cpu_seconds_total, nodejs_heap_size_used_bytes…), so that stock dashboards match.
    collectDefaultMetrics({ register: this.registry });
    this.setEngine(engine);
    for (const kind of FAILURE_KINDS) this.failures.inc({ kind }, 0);
    for (const index of indexes) {
      this.indexed.inc({ index }, 0);
      this.deleted.inc({ index }, 0);
      // Nothing read yet: 0 until the first reading of the queue (movies_healthy is 0 meanwhile).
      this.pending.set({ index }, 0);
      this.lag.set({ index }, 0);
    }
  }

  /** The engine kind in movies_build_info: once connected, the one detected. */
  setEngine(engine: string): void {
    this.buildInfo.reset();
    this.buildInfo.set({ version: VERSION, node: process.version, engine }, 1);
  }

  /** The latest reading of one index's live queue: its pending documents and oldest change. */
  setQueue(index: string, pending: number, lagSeconds: number): void {
    this.queueReadings.set(index, { pending, lagSeconds, at: performance.now() });
  }

  /** The age of the index's oldest pending change now: the last reading, aged since it was taken. */
  lagOf(index: string): number {
    const r = this.queueReadings.get(index);
    return r && r.pending > 0 ? r.lagSeconds + (performance.now() - r.at) / 1000 : 0;
  }

  /** The latest reading of one index's target queues (src/watch/queue-reader.ts). */
  setTargetQueues(index: string, queues: TargetQueue[]): void {
    this.targetReadings.set(index, { queues, at: performance.now() });
  }

  private fillTargetGauge(gauge: Gauge, value: (q: TargetQueue, secondsSinceRead: number) => number): void {
    gauge.reset();
    const now = performance.now();
    for (const [index, r] of this.targetReadings) {
      for (const q of r.queues) gauge.set({ index, target: String(q.target), state: q.state }, value(q, (now - r.at) / 1000));
    }
  }
}

/**
 * Bounds of the endpoint. Every connection costs the process a file descriptor, the same ones
 * the ETL needs for PostgreSQL, the engine and its mapping files: idle clients (a slowloris, a
 * scraper that leaks connections) beyond the open-files limit made cycles fail with EMFILE. So
 * at most MAX_CONNECTIONS at once (further ones are closed as soon as they are accepted), and
 * none is kept for long: a scrape is one small request.
 */
export const ENDPOINT_LIMITS = {
  maxConnections: 64,
  /** The whole request head must arrive within this. */
  headersTimeoutMs: 5_000,
  /** The whole request, body included. */
  requestTimeoutMs: 10_000,
  /** An idle keep-alive connection between two requests. */
  keepAliveTimeoutMs: 5_000,
  /** A socket with no traffic at all, whatever state it is in. */
  idleTimeoutMs: 10_000,
  /** How often the server checks headersTimeout and requestTimeout (Node's default is 30 s). */
  checkIntervalMs: 1_000,
} as const;

/** Why the endpoint cannot listen where it was told, as a usage error naming host:port; undefined: not the address's fault. */
function bindProblem(err: NodeJS.ErrnoException, host: string, port: number): UsageError | undefined {
  const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  const fix = 'choose another --metrics-port, or --metrics-host (MOVIES_METRICS_HOST)';
  switch (err.code) {
    case 'EADDRINUSE':
      return new UsageError(`the metrics endpoint cannot listen on ${where}: the port is already in use (another watch?); ${fix}`);
    case 'EACCES':
      return new UsageError(`the metrics endpoint cannot listen on ${where}: permission denied (ports below 1024 need privileges); ${fix}`);
    case 'EADDRNOTAVAIL':
      return new UsageError(`the metrics endpoint cannot listen on ${where}: no interface of this machine has that address; ${fix}`);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_FAIL':
      return new UsageError(`the metrics endpoint cannot listen on ${where}: the host name does not resolve (${err.code}); ${fix}`);
    default:
      return undefined;
  }
}

/** The only methods served: a scrape or a probe reads, it never changes anything. */
const ALLOWED_METHODS = 'GET, HEAD';

/** /metrics for Prometheus and /healthz (200 or 503) for a load balancer or an orchestrator. */
export function serveMetrics(metrics: WatchMetrics, host: string, port: number, health: () => { ok: boolean; reason: string }): Promise<http.Server> {
  const limits = ENDPOINT_LIMITS;
  const server = http.createServer({
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    connectionsCheckingInterval: limits.checkIntervalMs,
  }, (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: ALLOWED_METHODS });
      res.end(`method not allowed: ${ALLOWED_METHODS} only\n`);
      return;
    }
    // Node sends no body in answer to HEAD, whatever is written: the same handlers serve both.
    if (path === '/metrics') {
      metrics.registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': metrics.registry.contentType });
          res.end(text);
        },
        (err: Error) => {
          res.writeHead(500);
          res.end(err.message);
        },
      );
      return;
    }
    if (path === '/healthz') {
      const h = health();
      res.writeHead(h.ok ? 200 : 503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: h.ok ? 'ok' : 'unhealthy', reason: h.reason }));
      return;
    }
    res.writeHead(404);
    res.end('not found: /metrics or /healthz\n');
  });
  server.maxConnections = limits.maxConnections;
  // No 'timeout' listener: Node destroys a socket idle this long.
  server.setTimeout(limits.idleTimeoutMs);
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(bindProblem(err, host, port) ?? err));
    server.listen(port, host, () => resolve(server));
  });
}
