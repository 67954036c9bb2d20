#!/usr/bin/env node
// Local backing services for development and CI: PostgreSQL, Elasticsearch, OpenSearch, and the
// compatibility servers of `npm run test:compat`.
//
//   node scripts/services.mjs up     [name ...]
//   node scripts/services.mjs down   [name ...]
//   node scripts/services.mjs status [name ...]
//
// Without names, `up` and `status` mean the everyday set (postgres, postgres-logical,
// elasticsearch, opensearch);
// `down` means the everyday set plus every compatibility server this checkout runs. Other names:
// elasticsearch-8, opensearch-2, postgres-18, opensearch-node-1..3 (or opensearch-cluster).
//
// `up` is idempotent, waits until every server is healthy (SERVICES_TIMEOUT seconds, default
// 180) and writes .services/env (DATABASE_URL, DATABASE_URL_LOGICAL, ELASTICSEARCH_URL,
// OPENSEARCH_URL) for
// `source .services/env`. Environment: DATABASE_URL (reuse an existing database), ES_PORT
// (9200), OS_PORT (9201), ES_VERSION, OS_RUNNER_VERSION, SERVICES_JAVA_HOME, SERVICES_TIMEOUT.
// Downloads go through Maven (services/*/pom.xml) and npm into ~/.m2 and .services/cache.
import fsp from 'node:fs/promises';
import { ENV_FILE, LOG_DIR, ensureDirs, readEnvFile } from './services/config.mjs';
import { writeFileAtomic } from './services/files.mjs';
import { ALL, COMPAT, EVERYDAY, GROUPS } from './services/instances.mjs';
import { ServiceError, log, rel } from './services/log.mjs';

const ENV_KEYS = ['DATABASE_URL', 'DATABASE_URL_LOGICAL', 'ELASTICSEARCH_URL', 'OPENSEARCH_URL'];

function usage(code = 2) {
  console.error(`usage: node scripts/services.mjs up|down|status [${[...Object.keys(ALL), ...Object.keys(GROUPS)].join('|')} ...]`);
  process.exit(code);
}

function selected(names) {
  if (!names.length) return Object.keys(EVERYDAY);
  return [...new Set(names.flatMap((n) => {
    const found = GROUPS[n] ?? [n];
    if (!found.every((k) => ALL[k])) usage();
    return found;
  }))];
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

/** Runs `step` on each server in parallel; reports failures and returns the fulfilled values. */
async function each(names, step) {
  const results = await Promise.allSettled(names.map((n) => step(ALL[n])));
  const values = {};
  let failed = false;
  results.forEach((r, i) => {
    if (r.status === 'fulfilled') values[names[i]] = r.value;
    else {
      failed = true;
      report(names[i], r.reason);
    }
  });
  return { values, failed };
}

async function up(names) {
  await ensureDirs();
  const started = Date.now();
  // A partial `up` keeps the other entries of an existing env file.
  const env = await readEnvFile();
  // PostgreSQL first; the search servers in parallel (their Maven downloads are serialised).
  const databases = names.filter((n) => ALL[n].kind === 'postgres');
  const first = await each(databases, (s) => s.up());
  const second = await each(names.filter((n) => ALL[n].kind !== 'postgres'), (s) => s.up());
  const urls = { ...first.values, ...second.values };
  for (const n of names) {
    const key = ALL[n].envKey;
    if (!key) continue;
    if (urls[n]) env[key] = urls[n].url;
    else delete env[key];
  }
  if (names.some((n) => ALL[n].envKey)) await writeEnvFile(env);
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  if (first.failed || second.failed) {
    console.error(`[services] up FAILED after ${secs}s; logs in ${rel(LOG_DIR)}/`);
    process.exitCode = 1;
    return;
  }
  log(`all services up in ${secs}s${names.some((n) => ALL[n].envKey) ? `; wrote ${rel(ENV_FILE)}` : ''}:`);
  for (const n of names) console.log(`  ${ALL[n].envKey ?? n}=${urls[n].url}`);
}

async function down(names, all) {
  // With no names: the compatibility servers this checkout runs, too.
  if (all) for (const n of Object.keys(COMPAT)) if (await COMPAT[n].running()) names.push(n);
  // Search servers first (in parallel), PostgreSQL last.
  const search = await each(names.filter((n) => ALL[n].kind !== 'postgres'), (s) => s.down());
  const databases = await each(names.filter((n) => ALL[n].kind === 'postgres'), (s) => s.down());
  if (all) await fsp.rm(ENV_FILE, { force: true });
  else {
    const env = await readEnvFile();
    for (const n of names) if (ALL[n].envKey) delete env[ALL[n].envKey];
    if (Object.keys(env).length) await writeEnvFile(env);
  }
  if (search.failed || databases.failed) process.exitCode = 1;
  else log('down: done (cache kept in .services/cache)');
}

async function status(names) {
  const env = await readEnvFile();
  const results = await Promise.all(names.map((n) => ALL[n].status(env[ALL[n].envKey]).catch((err) => ({ ok: false, line: `${n}  ERROR ${err.message}` }))));
  let ok = true;
  for (const r of results) {
    console.log(r.line);
    ok &&= r.ok;
  }
  if (!ok) process.exitCode = 1;
}

const [cmd, ...rest] = process.argv.slice(2);
const names = selected(rest);
const commands = { up, down: (n) => down(n, rest.length === 0), status };
if (!commands[cmd]) usage();
try {
  await commands[cmd](names);
} catch (err) {
  report(cmd, err);
  process.exitCode = 1;
}
