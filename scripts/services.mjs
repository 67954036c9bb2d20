#!/usr/bin/env node
// Local backing services for development and CI: PostgreSQL, Elasticsearch, OpenSearch.
//
//   node scripts/services.mjs up     [postgres|elasticsearch|opensearch ...]
//   node scripts/services.mjs down   [postgres|elasticsearch|opensearch ...]
//   node scripts/services.mjs status [postgres|elasticsearch|opensearch ...]
//
// `up` is idempotent, waits until every server is healthy (SERVICES_TIMEOUT seconds, default
// 180) and writes .services/env (DATABASE_URL, ELASTICSEARCH_URL, OPENSEARCH_URL) for
// `source .services/env`. Environment: DATABASE_URL (reuse an existing database), ES_PORT
// (9200), OS_PORT (9201), ES_VERSION, OS_RUNNER_VERSION, SERVICES_JAVA_HOME, SERVICES_TIMEOUT.
// Downloads go through Maven (services/*/pom.xml) into ~/.m2 and .services/cache.
import fsp from 'node:fs/promises';
import { ENV_FILE, LOG_DIR, ServiceError, ensureDirs, log, readEnvFile, rel, writeFileAtomic } from './services/common.mjs';
import * as elasticsearch from './services/elasticsearch.mjs';
import * as opensearch from './services/opensearch.mjs';
import * as postgres from './services/postgres.mjs';

const SERVICES = { postgres, elasticsearch, opensearch };
const ALIASES = { pg: 'postgres', postgresql: 'postgres', es: 'elasticsearch', os: 'opensearch' };
const ENV_KEYS = ['DATABASE_URL', 'ELASTICSEARCH_URL', 'OPENSEARCH_URL'];

function usage(code = 2) {
  console.error('usage: node scripts/services.mjs up|down|status [postgres|elasticsearch|opensearch ...]');
  process.exit(code);
}

function selected(names) {
  if (!names.length) return Object.keys(SERVICES);
  return names.map((n) => {
    const k = ALIASES[n] ?? n;
    if (!SERVICES[k]) usage();
    return k;
  });
}

function shellQuote(v) {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(v) ? v : `'${v.replace(/'/g, `'\\''`)}'`;
}

async function writeEnvFile(values) {
  const lines = ['# Written by `npm run services:up`. Use: source .services/env'];
  for (const k of ENV_KEYS) if (values[k]) lines.push(`export ${k}=${shellQuote(values[k])}`);
  await writeFileAtomic(ENV_FILE, lines.join('\n') + '\n');
}

function report(name, err) {
  const msg = err instanceof ServiceError ? err.message : err?.stack ?? String(err);
  console.error(`\n[services] ${name} FAILED: ${msg}`);
  if (err?.logFile) console.error(`[services] ${name} log: ${err.logFile}`);
}

async function up(names) {
  await ensureDirs();
  const started = Date.now();
  // A partial `up` (named services) keeps the other entries of an existing env file.
  const values = names.length === Object.keys(SERVICES).length ? {} : await readEnvFile();
  let failed = false;

  if (names.includes('postgres')) {
    try {
      Object.assign(values, await postgres.up());
    } catch (err) {
      failed = true;
      report('postgresql', err);
    }
  }
  // Elasticsearch and OpenSearch start in parallel; their Maven downloads are serialised.
  const search = names.filter((n) => n !== 'postgres');
  const results = await Promise.allSettled(search.map((n) => SERVICES[n].up()));
  results.forEach((r, i) => {
    if (r.status === 'fulfilled') Object.assign(values, r.value);
    else {
      failed = true;
      delete values[search[i] === 'elasticsearch' ? 'ELASTICSEARCH_URL' : 'OPENSEARCH_URL'];
      report(search[i], r.reason);
    }
  });

  await writeEnvFile(values);
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  if (failed) {
    console.error(`[services] up FAILED after ${secs}s; logs in ${rel(LOG_DIR)}/`);
    process.exitCode = 1;
    return;
  }
  log(`all services up in ${secs}s; wrote ${rel(ENV_FILE)}:`);
  for (const k of ENV_KEYS) if (values[k]) console.log(`  ${k}=${values[k]}`);
}

async function down(names) {
  let failed = false;
  // Search servers first (in parallel), PostgreSQL last.
  const search = names.filter((n) => n !== 'postgres');
  const results = await Promise.allSettled(search.map((n) => SERVICES[n].down()));
  results.forEach((r, i) => {
    if (r.status === 'rejected') {
      failed = true;
      report(search[i], r.reason);
    }
  });
  if (names.includes('postgres')) {
    try {
      await postgres.down();
    } catch (err) {
      failed = true;
      report('postgresql', err);
    }
  }
  if (names.length === Object.keys(SERVICES).length) await fsp.rm(ENV_FILE, { force: true });
  else {
    const values = await readEnvFile();
    if (names.includes('postgres')) delete values.DATABASE_URL;
    if (names.includes('elasticsearch')) delete values.ELASTICSEARCH_URL;
    if (names.includes('opensearch')) delete values.OPENSEARCH_URL;
    if (Object.keys(values).length) await writeEnvFile(values);
  }
  if (failed) process.exitCode = 1;
  else log('down: done (cache kept in .services/cache)');
}

async function status(names) {
  const envValues = await readEnvFile();
  const urlFor = {
    postgres: envValues.DATABASE_URL,
    elasticsearch: envValues.ELASTICSEARCH_URL,
    opensearch: envValues.OPENSEARCH_URL,
  };
  const results = await Promise.all(names.map((n) => SERVICES[n].status(urlFor[n]).catch((err) => ({ ok: false, line: `${n}  ERROR ${err.message}` }))));
  let ok = true;
  for (const r of results) {
    console.log(r.line);
    ok &&= r.ok;
  }
  if (!ok) process.exitCode = 1;
}

const [cmd, ...rest] = process.argv.slice(2);
const names = selected(rest);
const commands = { up, down, status };
if (!commands[cmd]) usage();
try {
  await commands[cmd](names);
} catch (err) {
  report(cmd, err);
  process.exitCode = 1;
}
