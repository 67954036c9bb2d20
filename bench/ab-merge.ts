/*
 * Merges the per-invocation results of bench/ab.sh into one results file per side and prints
 * the comparison (Markdown) to stdout:
 *
 *   node --import tsx bench/ab-merge.ts DIR NAME_PREFIX
 *
 * DIR holds before-<round>.json and after-<round>.json. Writes bench/results/NAME_PREFIX-before.json
 * and NAME_PREFIX-after.json (every run kept, tagged with its round and the side's slot in that
 * round; medians over all of a side's runs), which the generated section of BENCHMARKS.md shows.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { median, ROOT } from './lib/measure.js';
import type { Measurement, Sample } from './run.js';

interface ResultFile {
  name: string;
  started: string;
  options: Record<string, unknown>;
  machine: Record<string, unknown>;
  results: Measurement[];
}

const [dir, prefix] = process.argv.slice(2);
if (!dir || !prefix) throw new Error('usage: ab-merge.ts DIR NAME_PREFIX');

const files = readdirSync(dir)
  .map((f) => /^(before|after)-(\d+)\.json$/.exec(f))
  .filter((m): m is RegExpExecArray => m !== null)
  .map((m) => ({ side: m[1]!, round: Number(m[2]), file: JSON.parse(readFileSync(join(dir, m[0]), 'utf8')) as ResultFile }))
  .sort((a, b) => a.round - b.round || a.file.started.localeCompare(b.file.started));

// Which side went first in each round.
const slot = new Map<string, number>();
for (const round of new Set(files.map((f) => f.round))) {
  files.filter((f) => f.round === round).forEach((f, i) => slot.set(`${f.side}-${round}`, i + 1));
}

// Measurements compared; tuning and derived ones (ratio, rss-*) are left out or recomputed.
const IDS = ['copy', 'loaddata', 'full', 'ceiling', 'full-large', 'rename', 'noop'];
const merged: Record<string, Map<string, Measurement>> = { before: new Map(), after: new Map() };
for (const f of files) {
  for (const r of f.file.results) {
    if (!IDS.includes(r.id)) continue;
    const m = merged[f.side]!.get(r.id) ?? { ...r, runs: [], median: {} };
    m.runs.push(...r.runs.map((x) => ({ round: f.round, slot: slot.get(`${f.side}-${f.round}`)!, ...x })));
    merged[f.side]!.set(r.id, m);
  }
}
for (const side of ['before', 'after']) {
  for (const m of merged[side]!.values()) {
    const keys = Object.keys(m.runs[0] ?? {}).filter((k) => k !== 'round' && k !== 'slot' && m.runs.every((r) => typeof r[k] === 'number'));
    m.median = Object.fromEntries(keys.map((k) => [k, median(m.runs.map((r) => r[k] as number))]));
    delete m.met;
    delete m.target;
    // Notes are one invocation's (e.g. the rename's share of that invocation's full index).
    delete m.note;
  }
  const first = files.find((f) => f.side === side)!.file;
  const out: ResultFile = {
    name: `${prefix}-${side}`,
    started: first.started,
    // "4×3": invocations × runs each, which the generated section prints as "4×3 runs".
    options: { ...first.options, runs: `${files.filter((f) => f.side === side).length}×${String(first.options.runs)}` },
    machine: first.machine,
    results: IDS.map((id) => merged[side]!.get(id)).filter((m): m is Measurement => m !== undefined),
  };
  writeFileSync(join(ROOT, `bench/results/${prefix}-${side}.json`), JSON.stringify(out, null, 2) + '\n');
}

// ---------------------------------------------------------------- comparison
const KEYS: Record<string, string[]> = {
  copy: ['seconds'],
  loaddata: ['seconds', 'upsertSeconds', 'peakRssMb'],
  full: ['seconds', 'docsPerSecond', 'etlSeconds', 'peakRssMb', 'cpuCliPer1k', 'cpuPostgresPer1k', 'cpuEnginePer1k'],
  ceiling: ['docsPerSecond'],
  'full-large': ['seconds', 'docsPerSecond', 'peakRssMb', 'cpuCliPer1k'],
  rename: ['seconds', 'docsPerSecond'],
  noop: ['seconds', 'queryMs', 'peakRssMb'],
};
const f = (v: number) => (Math.abs(v) >= 100 ? Math.round(v).toLocaleString('en') : v.toPrecision(3));
const vals = (m: Measurement | undefined, k: string) => (m?.runs ?? []).map((r: Sample) => r[k] as number).filter(Number.isFinite);
const lines = ['| measurement | n (before/after) | before median [min–max] | after median [min–max] | after/before | after/before per round (median) |', '|---|---|---|---|---|---|'];
for (const id of IDS) {
  const b = merged.before!.get(id);
  const a = merged.after!.get(id);
  for (const k of KEYS[id] ?? []) {
    const vb = vals(b, k);
    const va = vals(a, k);
    if (!vb.length || !va.length) continue;
    const rounds = [...new Set(files.map((x) => x.round))];
    const perRound = rounds
      .map((r) => {
        const rb = (b?.runs ?? []).filter((x) => x.round === r).map((x) => x[k] as number);
        const ra = (a?.runs ?? []).filter((x) => x.round === r).map((x) => x[k] as number);
        return rb.length && ra.length ? median(ra) / median(rb) : NaN;
      })
      .filter(Number.isFinite);
    lines.push(
      `| ${id} ${k} | ${vb.length}/${va.length} | ${f(median(vb))} [${f(Math.min(...vb))}–${f(Math.max(...vb))}] | ` +
        `${f(median(va))} [${f(Math.min(...va))}–${f(Math.max(...va))}] | ${(median(va) / median(vb)).toFixed(3)} | ` +
        `${median(perRound).toFixed(3)} (${perRound.map((x) => x.toFixed(2)).join(', ')}) |`,
    );
  }
}
const loads = (side: string) => files.filter((x) => x.side === side).flatMap((x) => x.file.results.filter((r) => IDS.includes(r.id)).flatMap((r) => r.runs.map((s) => s.load1 as number)));
lines.push('', `load average (1 min) per sample: before ${f(median(loads('before')))} median [${f(Math.min(...loads('before')))}–${f(Math.max(...loads('before')))}], after ${f(median(loads('after')))} [${f(Math.min(...loads('after')))}–${f(Math.max(...loads('after')))}]`);
process.stdout.write(lines.join('\n') + '\n');
