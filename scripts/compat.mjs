#!/usr/bin/env node
// The compatibility matrix: runs the engine- and database-facing suites once per cell of
// scripts/compat/cells.mjs, each against real servers, and writes COMPATIBILITY.md.
//
//   npm run test:compat [-- --cells es-8,pg-18] [--keep-servers] [--out FILE]
//
// Servers start as needed (the everyday ones stay up; a cell's own compatibility servers stop
// after it unless --keep-servers or the next cell needs them). With --cells, the report goes to
// .services/compat/COMPATIBILITY.md unless --out says otherwise. Exits 1 unless every cell passed.
import path from 'node:path';
import { parseArgs } from 'node:util';
import { CELLS, envOf, serversOf } from './compat/cells.mjs';
import { nodeRuntime } from './compat/node-runtime.mjs';
import { passed, writeReport } from './compat/report.mjs';
import { runSuites } from './compat/run-suites.mjs';
import { engineVersion, javaVersion, postgresVersion } from './compat/versions.mjs';
import { ROOT, SVC_DIR, ensureDirs } from './services/config.mjs';
import { ALL, COMPAT } from './services/instances.mjs';

const { values: opts } = parseArgs({
  options: { cells: { type: 'string' }, 'keep-servers': { type: 'boolean', default: false }, out: { type: 'string' } },
});
const wanted = opts.cells ? opts.cells.split(',').map((s) => s.trim()) : CELLS.map((c) => c.id);
const unknown = wanted.filter((id) => !CELLS.some((c) => c.id === id));
if (unknown.length) {
  console.error(`unknown cells: ${unknown.join(', ')}; known: ${CELLS.map((c) => c.id).join(', ')}`);
  process.exit(2);
}
const cells = CELLS.filter((c) => wanted.includes(c.id));
const partial = cells.length !== CELLS.length;
const out = opts.out ?? (partial ? path.join(SVC_DIR, 'compat', 'COMPATIBILITY.md') : path.join(ROOT, 'COMPATIBILITY.md'));

const say = (msg) => console.log(`[compat] ${msg}`);

/** Starts the servers (databases first, then the search servers in parallel); their URLs by name. */
async function startServers(names) {
  const urls = {};
  const databases = names.filter((n) => ALL[n].kind === 'postgres');
  for (const n of databases) urls[n] = (await ALL[n].up()).url;
  const search = names.filter((n) => ALL[n].kind !== 'postgres');
  const started = await Promise.all(search.map((n) => ALL[n].up()));
  search.forEach((n, i) => (urls[n] = started[i].url));
  return urls;
}

async function runCell(cell) {
  const urls = await startServers(serversOf(cell));
  const node = await nodeRuntime(cell.node);
  const versions = {
    engine: await engineVersion(urls[cell.engine]),
    java: await javaVersion(await ALL[cell.engine].running()),
    postgres: await postgresVersion(urls[cell.database]),
    node: node.version,
  };
  say(`${cell.id}: ${versions.engine} (Java ${versions.java}), ${versions.postgres}, Node.js ${versions.node}`);
  const tapFile = path.join(SVC_DIR, 'compat', `${cell.id}.tap`);
  const r = await runSuites({ nodeBin: node.bin, files: cell.suites, env: envOf(cell, urls), tapFile });
  return { ...r, versions };
}

await ensureDirs();
const startedAt = new Date();
const results = [];
for (const [i, cell] of cells.entries()) {
  say(`cell ${i + 1}/${cells.length}: ${cell.id} (${cell.about})`);
  let result;
  try {
    result = { cell, ...(await runCell(cell)) };
  } catch (err) {
    result = { cell, error: String(err?.message ?? err).split('\n')[0] };
  }
  results.push(result);
  say(`${cell.id}: ${passed(result) ? 'pass' : 'FAIL'} (pass ${result.pass ?? 0}, fail ${result.fail ?? 0}, skipped ${result.skipped ?? 0}${result.error ? `; ${result.error}` : ''})`);
  if (!opts['keep-servers']) {
    const next = cells[i + 1] ? serversOf(cells[i + 1]) : [];
    for (const n of serversOf(cell)) if (COMPAT[n] && !next.includes(n)) await COMPAT[n].down();
  }
}
const seconds = (Date.now() - startedAt.getTime()) / 1000;
writeReport(out, { results, startedAt, seconds, partial });
const failed = results.filter((r) => !passed(r));
say(`${results.length - failed.length} of ${results.length} cells passed in ${Math.round(seconds)} s; wrote ${path.relative(process.cwd(), out) || out}`);
process.exitCode = failed.length ? 1 : 0;
