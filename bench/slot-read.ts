/*
 * Reading a PostgreSQL logical replication slot (pgoutput, proto_version 1) from Node: which way?
 *
 *   A  `sql`:    node-postgres on an ordinary connection, polling
 *                pg_logical_slot_peek_binary_changes(slot, NULL, <batch>, 'proto_version', '1',
 *                'publication_names', pub) and then pg_replication_slot_advance(slot, <end LSN of
 *                the batch's last commit>); each `data` bytea parsed with pg-logical-replication's
 *                PgoutputPlugin.parse().
 *   B  `stream`: pg-logical-replication's LogicalReplicationService (a replication connection,
 *                START_REPLICATION ... LOGICAL), acknowledge {auto: false, timeoutSeconds: 0},
 *                flowControl enabled; the reader acknowledges the last commit's end LSN itself
 *                (every <batch> messages, on keepalives that ask for a reply, and at the end).
 *
 * Scenarios (each reader in a child process of its own, so that its process.cpuUsage() and its
 * PostgreSQL backend's /proc/<pid>/stat times are its own):
 *   drain-batch   N UPDATEs of film_work in <txn>-row transactions written first (in <segments>
 *                 parts, a CHECKPOINT after each, so that restart_lsn has running-xacts records
 *                 to move on to, as it would in WAL written over minutes), then the reader drains
 *                 the backlog up to pg_current_wal_lsn() taken after the writes;
 *   drain-single  the same with N single-row transactions (pgbench, 2 clients);
 *   long-batch,   the same two with a transaction held open on another connection from before the
 *   long-single   writes until after the drains: BEGIN; SELECT txid_current(); and one INSERT into
 *                 an unpublished table, rolled back at the end. That keeps the slots' restart_lsn
 *                 back to the INSERT;
 *   xidonly-batch long-batch without the INSERT: an xid alone writes no WAL, decoding never meets
 *                 the transaction, and restart_lsn is not held back by it;
 *   idle          no writes: A polls every <poll-ms> ms, B stays connected, for <idle-seconds> s;
 *                 CPU of the node process and of its backend (walsender for B) over that window;
 *   idle-behind   the same idle window, but after the reader has drained a long-batch backlog with
 *                 the long transaction still open (restart_lsn held back: A's every poll decodes
 *                 again from there; B's walsender does not).
 * A drain scenario writes once into two fresh slots (created before the writes), then drains one
 * with each reader; rounds alternate the order (A,B then B,A ...). Every slot is dropped after use.
 * Each run checks that the reader saw exactly N update messages (and no insert/delete) and that
 * the slot's confirmed_flush_lsn reached the last commit's end.
 *
 *   cd /work/main && node --import tsx bench/slot-read.ts [--n 200000] [--txn 2000] [--segments 4] [--rounds 3]
 *       [--batch 5000] [--idle-seconds 20] [--poll-ms 250] [--timeout-seconds 900]
 *       [--scenarios drain-batch,drain-single,long-batch,long-single,xidonly-batch,idle,idle-behind]
 *       [--url postgres://postgres@127.0.0.1:5439/postgres] [--out bench/results/slot-read.json]
 *
 * Needs PostgreSQL with wal_level=logical and pgbench on PATH. Creates the database `slotbench`
 * (dropped again at the end). Results: --out (relative to the repository root).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { LogicalReplicationService, PgoutputPlugin, type Pgoutput } from 'pg-logical-replication';
import { cpuSnapshot, load1, median, ROOT } from './lib/measure.js';

const { values: args } = parseArgs({
  options: {
    child: { type: 'string' }, // internal: drain | idle
    reader: { type: 'string' }, // internal: A | B
    slot: { type: 'string' }, // internal
    target: { type: 'string' }, // internal
    n: { type: 'string', default: '200000' },
    txn: { type: 'string', default: '2000' },
    segments: { type: 'string', default: '4' },
    rounds: { type: 'string', default: '3' },
    batch: { type: 'string', default: '5000' },
    'idle-seconds': { type: 'string', default: '20' },
    'poll-ms': { type: 'string', default: '250' },
    'timeout-seconds': { type: 'string', default: '900' },
    scenarios: { type: 'string', default: 'drain-batch,drain-single,long-batch,long-single,xidonly-batch,idle,idle-behind' },
    url: { type: 'string', default: 'postgres://postgres@127.0.0.1:5439/postgres' },
    out: { type: 'string', default: 'bench/results/slot-read.json' },
  },
});

const DB = 'slotbench';
const PUB = 'slotbench_pub';
const HZ = 100; // getconf CLK_TCK on Linux
const N = Number(args.n);
const TXN = Number(args.txn);
const BATCH = Number(args.batch);
const SEGMENTS = Number(args.segments);
const ADMIN_URL = args.url!;
const dbUrl = (): string => {
  const u = new URL(ADMIN_URL);
  u.pathname = `/${DB}`;
  return u.toString();
};

type Reader = 'A' | 'B';
type Scenario = 'drain-batch' | 'drain-single' | 'long-batch' | 'long-single' | 'xidonly-batch' | 'idle' | 'idle-behind';

/** What a child reader prints (one JSON line). */
interface ReaderResult {
  reader: Reader;
  mode: 'drain' | 'idle';
  wallSeconds: number;
  nodeUserSeconds: number;
  nodeSystemSeconds: number;
  nodeCpuSeconds: number;
  /** utime+stime of the reader's PostgreSQL backend (walsender for B) over the measured window. */
  backendCpuSeconds: number;
  backendPid: number;
  counts: Record<string, number>;
  lastCommitEnd: string | null;
  /** A: peek calls made (including the final empty one / the idle polls); B: acknowledgements sent. */
  calls: number;
  /** A: mean and max bytes between restart_lsn and confirmed_flush_lsn after an advance. */
  restartLagMeanBytes?: number;
  restartLagMaxBytes?: number;
  /** B: keepalives received. */
  heartbeats?: number;
  timedOut: boolean;
  peakRssMb: number;
}

// ---------------------------------------------------------------- helpers

const lsnToBig = (lsn: string): bigint => {
  const [hi, lo] = lsn.split('/');
  return (BigInt(`0x${hi}`) << 32n) | BigInt(`0x${lo}`);
};

function procCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields after the comm: state(0) ... utime(11) stime(12).
  return (Number(f[11]) + Number(f[12])) / HZ;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function countMessage(counts: Record<string, number>, m: Pgoutput.Message): void {
  counts[m.tag] = (counts[m.tag] ?? 0) + 1;
}

function peakRssMb(): number {
  const m = /VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : NaN;
}

function emit(r: ReaderResult): void {
  process.stdout.write(`${JSON.stringify(r)}\n`);
}

// ---------------------------------------------------------------- child: reader A (SQL functions)

const PEEK = `SELECT data FROM pg_logical_slot_peek_binary_changes($1, NULL, $2, 'proto_version', '1', 'publication_names', $3)`;

async function readerA(mode: 'drain' | 'idle', slot: string): Promise<ReaderResult> {
  const plugin = new PgoutputPlugin({ protoVersion: 1, publicationNames: [PUB] });
  const counts: Record<string, number> = {};
  let lastCommitEnd: string | null = null;
  let calls = 0;
  const lags: number[] = [];
  const deadline = Date.now() + Number(args['timeout-seconds']) * 1000;
  let timedOut = false;

  const poll = async (c: pg.Client): Promise<number> => {
    calls++;
    const res = await c.query<{ data: Buffer }>(PEEK, [slot, BATCH, PUB]);
    let end: string | null = null;
    for (const row of res.rows) {
      const m = plugin.parse(row.data);
      countMessage(counts, m);
      if (m.tag === 'commit') end = m.commitEndLsn;
    }
    if (end !== null) {
      lastCommitEnd = end;
      await c.query('SELECT pg_replication_slot_advance($1, $2::pg_lsn)', [slot, end]);
      {
        const lag = await c.query<{ lag: string }>(
          'SELECT pg_wal_lsn_diff(confirmed_flush_lsn, restart_lsn)::bigint::text AS lag FROM pg_replication_slots WHERE slot_name = $1',
          [slot],
        );
        lags.push(Number(lag.rows[0]?.lag ?? NaN));
      }
    }
    return res.rows.length;
  };

  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const c = new pg.Client({ connectionString: dbUrl(), application_name: `slotbench-A-${slot}` });
  await c.connect();
  const pid = (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
  let be0 = 0; // a fresh backend: everything it spent is the reader's
  let cpuStart = cpu0;
  let tStart = t0;
  if (mode === 'drain') {
    while ((await poll(c)) > 0) {
      if (Date.now() > deadline) {
        timedOut = true;
        break;
      }
    }
  } else {
    // idle-behind: drain the backlog first; then (either way) one warm-up poll, then measure.
    if (args.target) while ((await poll(c)) > 0);
    await poll(c);
    be0 = procCpuSeconds(pid);
    cpuStart = process.cpuUsage();
    tStart = performance.now();
    const end = tStart + Number(args['idle-seconds']) * 1000;
    while (performance.now() < end) {
      await poll(c);
      await sleep(Number(args['poll-ms']));
    }
  }
  const be1 = procCpuSeconds(pid);
  const cpu = process.cpuUsage(cpuStart);
  const wallSeconds = (performance.now() - tStart) / 1000;
  await c.end();
  return {
    reader: 'A',
    mode,
    wallSeconds,
    nodeUserSeconds: cpu.user / 1e6,
    nodeSystemSeconds: cpu.system / 1e6,
    nodeCpuSeconds: (cpu.user + cpu.system) / 1e6,
    backendCpuSeconds: be1 - be0,
    backendPid: pid,
    counts,
    lastCommitEnd,
    calls,
    restartLagMeanBytes: lags.length ? Math.round(lags.reduce((a, b) => a + b, 0) / lags.length) : 0,
    restartLagMaxBytes: lags.length ? Math.max(...lags) : 0,
    timedOut,
    peakRssMb: peakRssMb(),
  };
}

// ---------------------------------------------------------------- child: reader B (streaming)

/** PgoutputPlugin whose parse() (called synchronously for each XLogData as it arrives) counts arrivals. */
class CountingPgoutputPlugin extends PgoutputPlugin {
  received = 0;
  override parse(buffer: Buffer): Pgoutput.Message {
    this.received++;
    return super.parse(buffer);
  }
}

async function readerB(mode: 'drain' | 'idle', slot: string, target: string | undefined): Promise<ReaderResult> {
  const plugin = new CountingPgoutputPlugin({ protoVersion: 1, publicationNames: [PUB] });
  const counts: Record<string, number> = {};
  const appName = `slotbench-B-${slot}`;
  const targetBig = target ? lsnToBig(target) : 0n;
  let lastCommitEnd: string | null = null;
  let floor = '0/0'; // the slot's confirmed_flush_lsn at the start: never acknowledge below it
  let ackedEnd: string | null = null;
  let sinceAck = 0;
  let processed = 0;
  let acks = 0;
  let heartbeats = 0;
  let lastDataAt = Date.now();
  let caughtUpAt: number | null = null; // plugin.received when a keepalive showed lsn >= target
  let timedOut = false;

  const service = new LogicalReplicationService(
    { connectionString: dbUrl(), application_name: appName },
    { acknowledge: { auto: false, timeoutSeconds: 0 }, flowControl: { enabled: true } },
  );
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((r) => (finish = r));
  /** Standby status update with the last commit's end (the library sends lsn + 1 as write/flush/apply). */
  const ack = async (force = false, ping = false): Promise<void> => {
    const lsn = lastCommitEnd ?? floor;
    if (lsn === ackedEnd && !force) return;
    if (await service.acknowledge(lsn, ping)) {
      acks++;
      ackedEnd = lsn;
      sinceAck = 0;
    }
  };
  const checkDone = (): void => {
    if (target && caughtUpAt !== null && processed >= caughtUpAt) finish();
  };

  // The library types the message as `any`; with PgoutputPlugin it is a Pgoutput.Message.
  service.on('data', async (_lsn: string, m: Pgoutput.Message) => {
    processed++;
    lastDataAt = Date.now();
    countMessage(counts, m);
    if (m.tag === 'commit') {
      lastCommitEnd = m.commitEndLsn;
      if (sinceAck >= BATCH) await ack();
      // A commit ending at or past the target: everything up to the target has been handed over
      // (messages reach this listener in order). Only a commit's LSN can say so: a change's or a
      // BEGIN's XLogData LSN may lie before the target in a transaction that commits after it.
      if (target && m.commitEndLsn && lsnToBig(m.commitEndLsn) >= targetBig) caughtUpAt = 0;
    }
    sinceAck++;
    checkDone();
  });
  service.on('heartbeat', async (lsn: string, _ts: number, shouldRespond: boolean) => {
    heartbeats++;
    if (shouldRespond) await ack(true, false);
    if (target && caughtUpAt === null && lsnToBig(lsn) >= targetBig) {
      // Every XLogData before this keepalive has already been parsed (queued); wait until the
      // flow-control queue has handed all of them to the data listener.
      caughtUpAt = plugin.received;
      checkDone();
    }
  });
  const errors: Error[] = [];
  service.on('error', (e: Error) => errors.push(e));
  let started: () => void = () => undefined;
  const startedP = new Promise<void>((r) => (started = r));
  service.on('start', () => started());

  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const side = new pg.Client({ connectionString: dbUrl() });
  await side.connect();
  floor =
    (await side.query<{ l: string }>('SELECT confirmed_flush_lsn::text AS l FROM pg_replication_slots WHERE slot_name = $1', [slot]))
      .rows[0]?.l ?? floor;
  const streaming = service.subscribe(plugin, slot); // resolves only when the stream ends (stop())
  streaming.catch((e: Error) => errors.push(e));
  await startedP;
  let pid = 0;
  for (let i = 0; i < 100 && !pid; i++) {
    const r = await side.query<{ pid: number }>('SELECT pid FROM pg_stat_replication WHERE application_name = $1', [appName]);
    pid = r.rows[0]?.pid ?? 0;
    if (!pid) await sleep(10);
  }
  let be0 = 0;
  let cpuStart = cpu0;
  let tStart = t0;
  // Ask for a keepalive when the stream has been quiet for a while: the walsender only sends one
  // unprompted when it reaches the end of WAL and our confirmed position is behind what it sent.
  const pinger = setInterval(() => {
    if (Date.now() - lastDataAt >= 250) void ack(true, true);
  }, 250);
  if (mode === 'drain') {
    const timeout = setTimeout(() => {
      timedOut = true;
      finish();
    }, Number(args['timeout-seconds']) * 1000);
    await finished;
    clearTimeout(timeout);
    await ack();
  } else {
    if (target) {
      await finished; // idle-behind: caught up first
      await ack();
    }
    clearInterval(pinger); // idle: only what the library and the server do by themselves
    await sleep(1000);
    be0 = procCpuSeconds(pid);
    cpuStart = process.cpuUsage();
    tStart = performance.now();
    await sleep(Number(args['idle-seconds']) * 1000);
  }
  clearInterval(pinger);
  const be1 = procCpuSeconds(pid);
  const cpu = process.cpuUsage(cpuStart);
  const wallSeconds = (performance.now() - tStart) / 1000;
  await service.stop();
  await streaming.catch(() => undefined);
  await side.end();
  if (errors.length) throw errors[0];
  return {
    reader: 'B',
    mode,
    wallSeconds,
    nodeUserSeconds: cpu.user / 1e6,
    nodeSystemSeconds: cpu.system / 1e6,
    nodeCpuSeconds: (cpu.user + cpu.system) / 1e6,
    backendCpuSeconds: be1 - be0,
    backendPid: pid,
    counts,
    lastCommitEnd,
    calls: acks,
    heartbeats,
    timedOut,
    peakRssMb: peakRssMb(),
  };
}

// ---------------------------------------------------------------- parent

interface RunRecord extends ReaderResult {
  scenario: Scenario;
  round: number;
  order: number;
  n: number;
  walBytes: number;
  writeSeconds: number;
  changesPerSecond: number;
  /**
   * CPU of every process named `postgres` on the machine over the child's lifetime (walwriter,
   * autovacuum ... and any other cluster's processes: noisy, and negative when one of those exits).
   */
  postgresAllCpuSeconds: number;
  /** 1-minute load average when the reader started. */
  load1: number;
  confirmedFlush: string | null;
  correct: boolean;
  problems: string[];
}

function runChild(childArgs: string[]): Promise<ReaderResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench/slot-read.ts'), ...childArgs], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`reader ${childArgs.join(' ')} exited ${code}`));
      try {
        resolve(JSON.parse(out.trim().split('\n').pop() ?? '') as ReaderResult);
      } catch (e) {
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    });
  });
}

function run(cmd: string, argv: string[], env: Record<string, string> = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} exited ${code}: ${err}`))));
  });
}

async function setup(admin: pg.Client): Promise<void> {
  await admin.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${DB}`);
  const c = new pg.Client({ connectionString: dbUrl() });
  await c.connect();
  await c.query(`
    CREATE TABLE film_work (id uuid PRIMARY KEY, title text NOT NULL, description text, rating float);
    CREATE TABLE film_work_person (id uuid PRIMARY KEY, film_work_id uuid NOT NULL, person_id uuid NOT NULL, role text NOT NULL);
    CREATE TABLE bench_hold (x int);
    CREATE PUBLICATION ${PUB} FOR TABLE film_work, film_work_person;
    CREATE PROCEDURE bench_update(lo int, hi int, txn int) LANGUAGE plpgsql AS $$
    DECLARE k int := lo;
    BEGIN
      WHILE k < hi LOOP
        UPDATE film_work SET rating = rating + 1
         WHERE id IN (SELECT md5(g::text)::uuid FROM generate_series(k + 1, least(k + txn, hi)) g);
        COMMIT;
        k := k + txn;
      END LOOP;
    END $$;`);
  await c.query(
    `INSERT INTO film_work SELECT md5(g::text)::uuid, 'Film ' || g, repeat('A film about number ' || g || '. ', 4), (g % 100) / 10.0
       FROM generate_series(1, $1) g`,
    [N],
  );
  await c.query(
    `INSERT INTO film_work_person SELECT md5('p' || g)::uuid, md5(g::text)::uuid, md5('person' || (g % 5000))::uuid, 'actor'
       FROM generate_series(1, $1) g`,
    [N],
  );
  await c.query('VACUUM ANALYZE film_work');
  await c.query('VACUUM ANALYZE film_work_person');
  await c.end();
}

/**
 * Writes N changes in SEGMENTS segments with a CHECKPOINT after each: a checkpoint logs the
 * running-transactions record from which a slot's restart_lsn can move on (the bgwriter logs one
 * every 15 s of a real workload; a backlog written in a few seconds would otherwise have none).
 */
async function write(c: pg.Client, kind: 'batch' | 'single'): Promise<number> {
  const t0 = performance.now();
  const per = N / SEGMENTS;
  const clients = 2;
  if (!Number.isInteger(per) || per % TXN || per % clients)
    throw new Error(`--n / --segments must be a multiple of --txn and of ${clients}`);
  const dir = mkdtempSync(join(tmpdir(), 'slot-read-'));
  const script = join(dir, 'update.sql');
  writeFileSync(script, '\\set i random(1, :rows)\nUPDATE film_work SET rating = rating + 1 WHERE id = md5(:i::text)::uuid;\n');
  const u = new URL(ADMIN_URL);
  try {
    for (let seg = 0; seg < SEGMENTS; seg++) {
      if (kind === 'batch') {
        await c.query('CALL bench_update($1, $2, $3)', [seg * per, (seg + 1) * per, TXN]);
      } else {
        await run('pgbench', [
          '-n', '-h', u.hostname, '-p', u.port || '5432', '-U', decodeURIComponent(u.username || 'postgres'),
          '-c', String(clients), '-j', String(clients), '-t', String(per / clients), '-D', `rows=${N}`, '-f', script, DB,
        ]);
      }
      if (SEGMENTS > 1) await c.query('CHECKPOINT');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return (performance.now() - t0) / 1000;
}

async function main(): Promise<void> {
  const scenarios = args.scenarios!.split(',') as Scenario[];
  const rounds = Number(args.rounds);
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  const pgVersion = (await admin.query<{ v: string }>('SELECT version() AS v')).rows[0]!.v;
  console.error(`setup: ${DB} with ${N} film_work rows`);
  await setup(admin);
  const c = new pg.Client({ connectionString: dbUrl() });
  await c.connect();
  const runs: RunRecord[] = [];
  const slotInfo = async (slot: string) =>
    (
      await c.query<{ confirmed: string | null; restart: string | null }>(
        'SELECT confirmed_flush_lsn::text AS confirmed, restart_lsn::text AS restart FROM pg_replication_slots WHERE slot_name = $1',
        [slot],
      )
    ).rows[0];

  try {
    for (let round = 0; round < rounds; round++) {
      const order: Reader[] = round % 2 === 0 ? ['A', 'B'] : ['B', 'A'];
      for (const scenario of scenarios) {
        const slots = Object.fromEntries(order.map((r) => [r, `slotbench_${scenario.replace('-', '_')}_${round}_${r.toLowerCase()}`])) as Record<Reader, string>;
        for (const r of order) await c.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [slots[r]]);
        let holder: pg.Client | undefined;
        let writeSeconds = 0;
        let walBytes = 0;
        let target: string | undefined;
        if (scenario !== 'idle') {
          if (scenario.startsWith('long') || scenario === 'xidonly-batch' || scenario === 'idle-behind') {
            holder = new pg.Client({ connectionString: dbUrl(), application_name: 'slotbench-long-xact' });
            await holder.connect();
            await holder.query('BEGIN');
            await holder.query('SELECT txid_current()');
            // An xid alone writes no WAL, so decoding never meets the transaction and restart_lsn
            // is not held back by it; one row written (never committed) is what pins restart_lsn.
            if (scenario !== 'xidonly-batch') await holder.query('INSERT INTO bench_hold VALUES (1)');
          }
          const start = (await c.query<{ l: string }>('SELECT pg_current_wal_lsn()::text AS l')).rows[0]!.l;
          writeSeconds = await write(c, scenario.endsWith('single') ? 'single' : 'batch');
          target = (await c.query<{ l: string }>('SELECT pg_current_wal_lsn()::text AS l')).rows[0]!.l;
          // A little WAL past the target, so that a reader can always see a position beyond it.
          await c.query(`SELECT pg_logical_emit_message(false, 'slotbench', 'after-target')`);
          walBytes = Number(lsnToBig(target) - lsnToBig(start));
        }
        for (const [i, reader] of order.entries()) {
          const mode = scenario.startsWith('idle') ? 'idle' : 'drain';
          const load = load1();
          const pg0 = cpuSnapshot();
          const res = await runChild(['--child', mode, '--reader', reader, '--slot', slots[reader],
            ...(target ? ['--target', target] : []), '--n', String(N), '--batch', String(BATCH),
            '--idle-seconds', String(args['idle-seconds']), '--poll-ms', String(args['poll-ms']),
            '--timeout-seconds', String(args['timeout-seconds']), '--url', ADMIN_URL]);
          const pg1 = cpuSnapshot();
          const info = await slotInfo(slots[reader]);
          const problems: string[] = [];
          const changes = (res.counts.insert ?? 0) + (res.counts.update ?? 0) + (res.counts.delete ?? 0);
          if (target) {
            if ((res.counts.update ?? 0) !== N) problems.push(`update messages ${res.counts.update ?? 0} != ${N}`);
            if (res.counts.insert || res.counts.delete) problems.push(`unexpected insert/delete ${res.counts.insert ?? 0}/${res.counts.delete ?? 0}`);
            const commits = scenario.endsWith('single') ? N : Math.ceil(N / TXN);
            if ((res.counts.commit ?? 0) !== commits) problems.push(`commits ${res.counts.commit ?? 0} != ${commits}`);
            if (!res.lastCommitEnd || !info?.confirmed || lsnToBig(info.confirmed) < lsnToBig(res.lastCommitEnd))
              problems.push(`confirmed_flush ${info?.confirmed} < last commit end ${res.lastCommitEnd}`);
            if (res.timedOut) problems.push('timed out');
            if (mode === 'idle' && res.counts.update !== N) problems.push('idle reader saw changes after the backlog');
          } else if (changes) problems.push(`idle reader saw ${changes} changes`);
          const rec: RunRecord = {
            ...res,
            scenario,
            round,
            order: i,
            n: target ? N : 0,
            walBytes,
            writeSeconds,
            changesPerSecond: mode === 'drain' ? Math.round(changes / res.wallSeconds) : 0,
            postgresAllCpuSeconds: Math.round((pg1.postgres - pg0.postgres) * 100) / 100,
            load1: load,
            confirmedFlush: info?.confirmed ?? null,
            correct: problems.length === 0,
            problems,
          };
          runs.push(rec);
          console.error(
            `${scenario} round ${round} ${reader}: wall ${res.wallSeconds.toFixed(2)} s, ${rec.changesPerSecond} changes/s, node cpu ${res.nodeCpuSeconds.toFixed(2)} s, backend cpu ${res.backendCpuSeconds.toFixed(2)} s, calls ${res.calls}` +
              `${res.restartLagMaxBytes ? `, restart lag max ${(res.restartLagMaxBytes / 2 ** 20).toFixed(1)} MiB` : ''}` +
              ` (write ${writeSeconds.toFixed(1)} s, ${(walBytes / 2 ** 20).toFixed(1)} MiB WAL)${problems.length ? ` PROBLEMS: ${problems.join('; ')}` : ''}`,
          );
          await c.query('SELECT pg_drop_replication_slot($1)', [slots[reader]]);
        }
        if (holder) {
          await holder.query('ROLLBACK');
          await holder.end();
        }
        if (target) await c.query('VACUUM film_work');
      }
    }
  } finally {
    const left = await c.query<{ slot_name: string }>(`SELECT slot_name FROM pg_replication_slots WHERE slot_name LIKE 'slotbench\\_%'`);
    for (const s of left.rows) await c.query('SELECT pg_drop_replication_slot($1)', [s.slot_name]).catch(() => undefined);
    await c.end();
    await admin.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
    await admin.end();
  }

  // Summary: median and range per scenario and reader.
  const stat = (xs: number[]) => ({ median: round3(median(xs)), min: round3(Math.min(...xs)), max: round3(Math.max(...xs)) });
  const summary: Record<string, Record<string, unknown>> = {};
  for (const scenario of scenarios) {
    for (const reader of ['A', 'B'] as Reader[]) {
      const rs = runs.filter((r) => r.scenario === scenario && r.reader === reader);
      if (!rs.length) continue;
      summary[`${scenario}/${reader}`] = {
        runs: rs.length,
        allCorrect: rs.every((r) => r.correct),
        wallSeconds: stat(rs.map((r) => r.wallSeconds)),
        changesPerSecond: stat(rs.map((r) => r.changesPerSecond)),
        nodeCpuSeconds: stat(rs.map((r) => r.nodeCpuSeconds)),
        backendCpuSeconds: stat(rs.map((r) => r.backendCpuSeconds)),
        postgresAllCpuSeconds: stat(rs.map((r) => r.postgresAllCpuSeconds)),
        calls: stat(rs.map((r) => r.calls)),
        ...(reader === 'A' && scenario !== 'idle' ? { restartLagMaxMiB: stat(rs.map((r) => (r.restartLagMaxBytes ?? 0) / 2 ** 20)) } : {}),
        peakRssMb: stat(rs.map((r) => r.peakRssMb)),
      };
      console.error(`${scenario}/${reader}: ${JSON.stringify(summary[`${scenario}/${reader}`])}`);
    }
  }
  const out = {
    what: 'reading a pgoutput logical slot: A = SQL peek+advance (pg 8.16.3), B = pg-logical-replication 2.5.0 streaming',
    date: new Date().toISOString(),
    machine: {
      nproc: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      node: process.version,
      postgres: pgVersion,
    },
    params: { n: N, txn: TXN, segments: SEGMENTS, batch: BATCH, rounds, idleSeconds: Number(args['idle-seconds']), pollMs: Number(args['poll-ms']), scenarios },
    summary,
    runs,
  };
  const file = resolve(ROOT, args.out!);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
  console.error(`wrote ${file}`);
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

async function child(): Promise<void> {
  const mode = args.child === 'idle' ? 'idle' : 'drain';
  const slot = args.slot!;
  const res = args.reader === 'A' ? await readerA(mode, slot) : await readerB(mode, slot, args.target);
  emit(res);
}

(args.child ? child() : main()).catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
