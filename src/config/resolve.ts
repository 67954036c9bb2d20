import { InvalidArgumentError } from 'commander';
import { UsageError } from '../core/errors.js';
import { registerSecret } from '../core/redact.js';
import { INDEX_NAMES, INDEXES, indexByName } from '../indexes/all.js';
import { filmsIndex } from '../indexes/films/index.js';
import { bindIndex } from '../indexes/spec.js';
import { names } from '../catalogue/names.js';
import { resolveCatalogue } from '../catalogue/resolve.js';
import { CAPTURE_NAMES, type CaptureName, type CommonFlags, type Config, type SlotLagLimit } from './types.js';



export const defaults = {
  databaseUrl: 'postgres://postgres@127.0.0.1:5432/movies',
  esUrl: 'http://127.0.0.1:9200',
  indexPrefix: '',
  maxRetryTime: '60',
  /** start-etl: documents per page and bulk request (throughput stops growing there, BENCHMARKS.md). */
  batch: 500,
  concurrency: 2,
  /** init-es: previous indexes kept per alias for `movies rollback`. */
  keep: 1,
  /** start-etl --watch: a cycle at least this often (seconds), whatever the queues look like. */
  pollInterval: 5,
  /** start-etl --watch: seconds a change may wait before /healthz says unhealthy. */
  maxLag: 60,
  /** start-etl --watch: the address /metrics and /healthz listen on; 0.0.0.0 exposes them on every interface. */
  metricsHost: '127.0.0.1',
  searchSize: 5,
  /** verify: ids and hashes per page read from each side (BENCHMARKS.md, "Verify"). */
  verifyPage: 5_000,
  seed: 1,
  /** status: seconds it may wait for each server (monitoring calls it; an outage must not hang it for the retry budget). */
  statusTimeout: 5,
} as const;

const clamp = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, x));

/*
 * One attempt may take as long as the whole retry budget, but at least long enough for a large
 * bulk request or page query on a loaded machine (10 s; the slowest page measured at 1M films
 * took ~0.6 s) and never more than 2 minutes, the engine clients' own default.
 */
export function deriveTimeouts(maxRetryTimeMs: number, statementTimeoutMs?: number) {
  const attempt = clamp(maxRetryTimeMs, 10_000, 120_000);
  return {
    requestTimeoutMs: attempt,
    timeouts: { connectMs: clamp(maxRetryTimeMs, 5_000, 30_000), statementMs: statementTimeoutMs ?? attempt },
  };
}

function pick(flag: string | undefined, env: string | undefined, fallback: string): string {
  if (flag !== undefined && flag !== '') return flag;
  if (env !== undefined && env !== '') return env;
  return fallback;
}

/** How the user gave a setting, for messages: the flag if one was given, else the variable. */
function sourceName(flag: string | undefined, flagName: string, envName: string): string {
  return flag !== undefined && flag !== '' ? flagName : envName;
}

/*
 * Why a URL does not parse. No part of the URL is quoted back: a password with an unencoded
 * "/", "?", "#" or "@" moves the parts around, so the text we would quote may be the password.
 */
function whyNotUrl(value: string, example: string): string {
  const m = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)/i.exec(value);
  if (!m) return `it is not a URL (expected ${example})`;
  if (value.indexOf('@', m[0].length) !== -1) {
    return 'a "/", "?" or "#" comes before the "@": characters like these in the user name or password must be percent-encoded (%2F, %3F, %23)';
  }
  const hostPort = m[1]!.slice(m[1]!.lastIndexOf('@') + 1);
  if (hostPort.startsWith('[') && !hostPort.includes(']')) return 'the IPv6 address has no closing "]"';
  const host = hostPort.startsWith('[') ? hostPort.slice(0, hostPort.indexOf(']') + 1) : hostPort.split(':')[0]!;
  if (host === '') return `it names no host (expected ${example})`;
  const port = hostPort.slice(host.length + 1);
  if (hostPort.length > host.length && !/^\d+$/.test(port)) return 'the port is not a number';
  if (port !== '' && Number(port) > 65535) return 'the port is out of range (1-65535)';
  return `it is not a valid URL (expected ${example}; percent-encode special characters in the password)`;
}

/** decodeURIComponent, or the reason it failed, for the part of a URL named by `part`. */
function decodePart(name: string, part: string, text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new UsageError(`${name}: the ${part} has a malformed percent-escape ("%" must be followed by two hex digits; write "%" itself as %25)`);
  }
}

/** Parses a server URL once, at the edge, so that every mistake in it is a usage error with its reason. */
function checkUrl(name: string, value: string, protocols: string[], example: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`${name} is not usable: ${whyNotUrl(value, example)}`);
  }
  if (!protocols.includes(url.protocol)) {
    throw new UsageError(`${name} must use ${protocols.join(' or ')} (got ${url.protocol})`);
  }
  // The WHATWG parser accepts port 0, which no server listens on; connecting would only be retried.
  if (url.port === '0') throw new UsageError(`${name} is not usable: the port is out of range (1-65535)`);
  decodePart(name, 'user name', url.username);
  decodePart(name, 'password', url.password);
  return url;
}

/* sslmode values node-postgres implements (libpq's "allow" is not among them). */
const SSL_MODES = ['disable', 'prefer', 'require', 'verify-ca', 'verify-full', 'no-verify'];

/** A PostgreSQL URL pg can use: a host (or ?host= for a socket directory), a decodable database name, a known sslmode. */
function checkDatabaseUrl(name: string, value: string): string {
  const url = checkUrl(name, value, ['postgres:', 'postgresql:'], 'postgres://user:password@host:5432/database');
  registerSecret(url.password);
  registerSecret(decodeURIComponent(url.password));
  if (url.hostname === '' && !url.searchParams.get('host')) {
    throw new UsageError(`${name} is not usable: it names no host (expected postgres://user:password@host:5432/database)`);
  }
  decodePart(name, 'database name', url.pathname);
  const sslmode = url.searchParams.get('sslmode');
  if (sslmode !== null && !SSL_MODES.includes(sslmode)) {
    throw new UsageError(`${name}: sslmode "${sslmode}" is not one of ${SSL_MODES.join(', ')}`);
  }
  return value;
}

function checkIndexName(index: string): string {
  if (!/^[a-z0-9][a-z0-9_.-]*$/.test(index) || index.length > 255) {
    throw new UsageError(`index name "${index}" is not valid (lowercase letters, digits, _ . - only)`);
  }
  return index;
}

/** Precedence: flags > environment > defaults. Validated once, here. */
export function resolveConfig(flags: CommonFlags, env: NodeJS.ProcessEnv = process.env): Config {
  const databaseUrl = checkDatabaseUrl(
    sourceName(flags.databaseUrl, '--database-url', 'DATABASE_URL'),
    pick(flags.databaseUrl, env.DATABASE_URL, defaults.databaseUrl),
  );
  const esUrlName = sourceName(flags.esUrl, '--es-url', 'ELASTICSEARCH_URL');
  const parsedEs = checkUrl(esUrlName, pick(flags.esUrl, env.ELASTICSEARCH_URL, defaults.esUrl), ['http:', 'https:'], 'http://host:9200');
  const engine = pick(flags.engine, env.MOVIES_ENGINE, 'auto');
  const engineName = sourceName(flags.engine, '--engine', 'MOVIES_ENGINE');
  if (engine !== 'auto' && engine !== 'elasticsearch' && engine !== 'opensearch') {
    throw new UsageError(`${engineName} must be auto, elasticsearch or opensearch (got "${engine}")`);
  }
  const catalogue = resolveCatalogue({
    schema: pick(flags.schema, env.MOVIES_SCHEMA, ''),
    schemaName: sourceName(flags.schema, '--schema', 'MOVIES_SCHEMA'),
    catalogue: pick(flags.catalogue, env.MOVIES_CATALOGUE, ''),
  });
  const sqlNames = names(catalogue);
  const prefix = pick(flags.indexPrefix, env.MOVIES_INDEX_PREFIX, defaults.indexPrefix);
  const index = checkIndexName(pick(flags.index, env.MOVIES_INDEX, `${prefix}${filmsIndex.name}`));
  const only = pick(flags.only, env.MOVIES_ONLY, INDEX_NAMES.join(','))
    .split(',')
    .map((n) => n.trim())
    .filter(Boolean);
  const unknown = only.filter((n) => !indexByName(n));
  if (unknown.length > 0 || only.length === 0) {
    throw new UsageError(`--only takes index names from ${INDEX_NAMES.join(', ')} (got "${unknown.join(',') || only.join(',')}")`);
  }
  // In the registry's order, each once.
  const indexes = INDEXES.filter((s) => only.includes(s.name)).map((def) => ({
    spec: bindIndex(def, sqlNames),
    index: def === filmsIndex ? index : checkIndexName(`${prefix}${def.name}`),
  }));
  const retrySeconds = integerSetting(
    '--max-retry-time',
    pick(flags.maxRetryTime, env.MOVIES_MAX_RETRY_TIME, defaults.maxRetryTime),
    sourceName(flags.maxRetryTime, '--max-retry-time', 'MOVIES_MAX_RETRY_TIME'),
  );
  const statementSeconds = pick(flags.statementTimeout, env.MOVIES_STATEMENT_TIMEOUT, '');
  const statementTimeoutMs =
    statementSeconds === ''
      ? undefined
      : integerSetting('--statement-timeout', statementSeconds, sourceName(flags.statementTimeout, '--statement-timeout', 'MOVIES_STATEMENT_TIMEOUT')) * 1000;
  const derived = deriveTimeouts(retrySeconds * 1000, statementTimeoutMs);
  // Credentials in the URL become explicit auth: fetch refuses URLs that carry them.
  registerSecret(parsedEs.password);
  const username = env.ELASTICSEARCH_USERNAME || decodeURIComponent(parsedEs.username) || undefined;
  const password = env.ELASTICSEARCH_PASSWORD || decodeURIComponent(parsedEs.password) || undefined;
  parsedEs.username = '';
  parsedEs.password = '';
  registerSecret(password);
  registerSecret(env.ELASTICSEARCH_API_KEY);
  if ((username === undefined) !== (password === undefined)) {
    throw new UsageError('set both ELASTICSEARCH_USERNAME and ELASTICSEARCH_PASSWORD, or neither');
  }
  return {
    databaseUrl,
    catalogue,
    names: sqlNames,
    engine: {
      url: parsedEs.toString().replace(/\/$/, ''),
      urlName: esUrlName,
      engine,
      engineName,
      apiKey: env.ELASTICSEARCH_API_KEY || undefined,
      username,
      password,
      caFile: env.ELASTICSEARCH_CA || undefined,
      requestTimeoutMs: derived.requestTimeoutMs,
    },
    index,
    indexes,
    indexPrefix: prefix,
    maxRetryTimeMs: retrySeconds * 1000,
    timeouts: derived.timeouts,
  };
}

/**
 * `status --timeout` (env MOVIES_STATUS_TIMEOUT, default defaults.statusTimeout): the one bound on
 * status's waits for either server. It replaces the retry budget, the engine's request timeout and
 * the connect timeout, and bounds each statement unless --statement-timeout says otherwise.
 */
export function statusBound(config: Config, flag: string | undefined, flags: CommonFlags, env: NodeJS.ProcessEnv = process.env): Config {
  const seconds = integerSetting(
    '--timeout',
    pick(flag, env.MOVIES_STATUS_TIMEOUT, String(defaults.statusTimeout)),
    sourceName(flag, '--timeout', 'MOVIES_STATUS_TIMEOUT'),
  );
  const ms = seconds * 1000;
  const statementGiven = pick(flags.statementTimeout, env.MOVIES_STATEMENT_TIMEOUT, '') !== '';
  return {
    ...config,
    maxRetryTimeMs: ms,
    engine: { ...config.engine, requestTimeoutMs: ms },
    timeouts: { connectMs: ms, statementMs: statementGiven ? config.timeouts.statementMs : ms },
  };
}

/** `migrate --capture` (env MOVIES_CAPTURE); undefined: keep what the database recorded. */
export function captureChoice(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): CaptureName | undefined {
  const value = pick(flag, env.MOVIES_CAPTURE, '');
  if (value === '') return undefined;
  if (!(CAPTURE_NAMES as readonly string[]).includes(value)) {
    throw new UsageError(`${sourceName(flag, '--capture', 'MOVIES_CAPTURE')} must be ${CAPTURE_NAMES.join(' or ')} (got "${value}")`);
  }
  return value as CaptureName;
}

const SIZE_UNITS: Record<string, number> = { B: 1, kB: 1024, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 };
const TIME_UNITS: Record<string, number> = { s: 1, min: 60, m: 60, h: 3600 };

/**
 * `--max-slot-lag` (env MOVIES_MAX_SLOT_LAG): a size of retained WAL ("512MB", units as
 * PostgreSQL's, 1024-based) or a time since movies last read the slot ("300s", "10min", "1h").
 */
export function slotLagLimit(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): SlotLagLimit | undefined {
  const value = pick(flag, env.MOVIES_MAX_SLOT_LAG, '');
  if (value === '') return undefined;
  const m = /^([0-9]+)\s*([A-Za-z]+)$/.exec(value.trim());
  const unit = m?.[2] ?? '';
  if (m && SIZE_UNITS[unit] !== undefined) return { bytes: Number(m[1]) * SIZE_UNITS[unit]! };
  if (m && TIME_UNITS[unit] !== undefined) return { seconds: Number(m[1]) * TIME_UNITS[unit]! };
  throw new UsageError(
    `${sourceName(flag, '--max-slot-lag', 'MOVIES_MAX_SLOT_LAG')} must be a size (e.g. 512MB; B, kB, MB, GB, TB) or a time (e.g. 300s; s, min, h), got "${value}"`,
  );
}

/**
 * The bounds of every integer option, written once: the parsers below, their messages and the
 * README's table of options come from here. Values are plain decimal digits; "1e9", "0x10",
 * "1.5" or " 5" are refused rather than read as JavaScript would read them.
 */
export const BOUNDS = {
  '--batch': { min: 1, max: 10_000 },
  '--concurrency': { min: 1, max: 32 },
  '--keep': { min: 0, max: 100 },
  // The engines answer at most index.max_result_window (10,000 by default) hits per search.
  '--page': { min: 1, max: 10_000 },
  '--size': { min: 1, max: 10_000 },
  '--poll-interval': { min: 1, max: 3_600 },
  '--max-lag': { min: 1, max: 86_400 },
  '--metrics-port': { min: 1, max: 65_535 },
  '--max-retry-time': { min: 0, max: 86_400 },
  '--statement-timeout': { min: 1, max: 86_400 },
  '--timeout': { min: 1, max: 3_600 },
  '--films': { min: 1, max: 100_000_000 },
  '--seed': { min: 1, max: 2_147_483_647 },
  '<id>': { min: 1, max: Number.MAX_SAFE_INTEGER },
} as const satisfies Record<string, { min: number; max: number }>;
export type IntegerOption = keyof typeof BOUNDS;

/**
 * The one integer parser: `value` as a plain decimal integer within the option's bounds, or a
 * message naming the option (`shownAs`, e.g. the environment variable it came from), the value
 * and the bounds.
 */
export function parseInteger(option: IntegerOption, value: string, shownAs: string = option): number | string {
  const { min, max } = BOUNDS[option];
  const n = /^[0-9]+$/.test(value) ? Number(value) : NaN;
  if (Number.isSafeInteger(n) && n >= min && n <= max) return n;
  return `${shownAs} must be a whole number from ${min.toLocaleString('en')} to ${max.toLocaleString('en')}, in decimal digits (got "${value}")`;
}

/** parseInteger for settings read by resolveConfig: a usage error (exit 2). */
function integerSetting(option: IntegerOption, value: string, shownAs: string): number {
  const n = parseInteger(option, value, shownAs);
  if (typeof n === 'string') throw new UsageError(n);
  return n;
}

/** A commander parser for an integer option; commander reports its error as a usage error (2). */
export const integer = (option: IntegerOption) => (value: string): number => {
  const n = parseInteger(option, value);
  if (typeof n === 'string') throw new InvalidArgumentError(n);
  return n;
};

/** start-etl --watch: where the metrics endpoint listens (--metrics-host > MOVIES_METRICS_HOST > the default). */
export function metricsHost(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return pick(flag, env.MOVIES_METRICS_HOST, defaults.metricsHost);
}
