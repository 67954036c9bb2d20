import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Ajv } from 'ajv';
import { aliasCatalogue } from '../helpers/alias-catalogue.js';
import { ENGINES, mappingArgs } from '../helpers/engines.js';
import { runCli } from '../helpers/cli.js';
import { freePort } from '../helpers/watch.js';

/*
 * docs/json.md, checked against every command's real --json output. The walk below enforces the
 * rules common to all commands wherever a field appears (so a new field cannot drift from them);
 * the per-command schemas pin the fields each command documents.
 */

const engine = ENGINES.find((e) => e.name === 'opensearch') ?? ENGINES[0]!;

/** Rules every result obeys, wherever the field is. */
function commonRules(value: unknown, path = '$'): string[] {
  const bad: string[] = [];
  if (Array.isArray(value)) value.forEach((v, i) => bad.push(...commonRules(v, `${path}[${i}]`)));
  if (!value || typeof value !== 'object' || Array.isArray(value)) return bad;
  for (const [k, v] of Object.entries(value)) {
    const at = `${path}.${k}`;
    if (k === 'seconds' || k.endsWith('Seconds')) {
      if (typeof v !== 'number' || Math.round(v * 1000) / 1000 !== v) bad.push(`${at}: a duration in seconds rounded to ms, got ${JSON.stringify(v)}`);
    }
    if (/Ms$|Millis/.test(k)) bad.push(`${at}: durations are in seconds`);
    if (k === 'engine') {
      const e = v as Record<string, unknown>;
      if (!e || typeof e !== 'object' || !('kind' in e) || !('version' in e) || typeof e.url !== 'string') bad.push(`${at}: engine is {kind, version, url}, got ${JSON.stringify(v)}`);
      else if (/\/\/[^/]*:[^/]*@/.test(e.url as string)) bad.push(`${at}.url carries credentials`);
    }
    if (k === 'indexes') {
      if (!Array.isArray(v)) bad.push(`${at}: indexes is an array`);
      else for (const [i, x] of v.entries()) if (typeof x?.index !== 'string' || typeof x?.name !== 'string') bad.push(`${at}[${i}]: each index has index and name`);
    }
    if (k === 'error' && path === '$') {
      const e = v as Record<string, unknown>;
      if (typeof e?.exit !== 'number' || typeof e.kind !== 'string' || typeof e.message !== 'string') bad.push(`${at}: {exit, kind, message}`);
    }
    bad.push(...commonRules(v, at));
  }
  return bad;
}

const ajv = new Ajv({ allErrors: true, strict: false });
const num = { type: 'number' };
const str = { type: 'string' };
const engineSchema = { type: 'object', required: ['kind', 'version', 'url'], properties: { kind: { type: ['string', 'null'] }, version: { type: ['string', 'null'] }, url: str } };
const indexesOf = (item: object) => ({ type: 'array', minItems: 1, items: { type: 'object', required: ['index', 'name', ...Object.keys(item)], properties: { index: str, name: str, ...item } } });
const obj = (properties: Record<string, object>) => ({ type: 'object', required: Object.keys(properties), properties });

const SCHEMAS: Record<string, object> = {
  migrate: obj({ catalogue: obj({ schema: str, layout: str }), created: { type: 'boolean' }, applied: { type: 'array' }, capture: { type: 'object' } }),
  generate: obj({ films: num, genres: num, persons: num, objects: num, out: str }),
  loaddata: obj({ objects: num, counts: { type: 'object' }, seconds: num, phases: { type: 'object' } }),
  'init-es': obj({ engine: engineSchema, physical: str, indexes: indexesOf({ physical: str, indexed: num, seconds: num, mapping: str }) }),
  'start-etl': obj({ engine: engineSchema, indexed: num, deleted: num, seconds: num, querySeconds: num, docsPerSecond: num, indexes: indexesOf({ indexed: num, seconds: num, querySeconds: num, lagSeconds: num }) }),
  status: obj({
    engine: { ...engineSchema, required: [...engineSchema.required, 'cluster'] },
    health: str,
    capture: { type: 'object' },
    indexes: {
      ...indexesOf({ pending: num, oldestChangeSeconds: num, documents: { type: ['number', 'null'] }, health: str, targets: { type: 'array', items: obj({ id: num, state: str, engine: engineSchema }) } }),
      // Each index counts its catalogue rows under its own noun.
      items: { anyOf: [{ required: ['films'], properties: { name: { const: 'movies' } } }, { required: ['genres'], properties: { name: { const: 'genres' } } }, { required: ['persons'], properties: { name: { const: 'persons' } } }] },
    },
  }),
  verify: obj({ engine: engineSchema, drift: num, indexes: indexesOf({ drift: num, seconds: num, database: num, indexed: num }) }),
  search: obj({ engine: engineSchema, query: str, index: str, name: str, total: num, hits: { type: 'array' } }),
  targets: obj({ targets: { type: 'array', minItems: 1, items: obj({ id: num, indexName: str, alias: str, state: str, pending: num, engine: engineSchema }) } }),
  rollback: obj({ engine: engineSchema, physical: str, indexes: indexesOf({ physical: str, seconds: num }) }),
  'targets drop': obj({ id: num, dropped: { type: 'boolean' }, engine: engineSchema }),
  detach: obj({ detached: { type: 'boolean' }, schema: { type: 'boolean' }, triggers: { type: 'array' } }),
  error: obj({ error: obj({ exit: num, kind: str, message: str }) }),
};

function check(command: string, stdout: string): Record<string, unknown> {
  const lines = stdout.trim().split('\n');
  assert.equal(lines.length, 1, `${command}: one JSON line on stdout, got: ${stdout}`);
  const value = JSON.parse(lines[0]!) as Record<string, unknown>;
  assert.deepEqual(commonRules(value), [], `${command}: ${lines[0]}`);
  const validate = ajv.compile(SCHEMAS[command]!);
  assert.ok(validate(value), `${command}: ${ajv.errorsText(validate.errors)}\n${lines[0]}`);
  return value;
}

describe('--json: one schema for every command (docs/json.md)', () => {
  let c: Awaited<ReturnType<typeof aliasCatalogue>>;
  const json = async (command: string, args: string[], expectCode = 0) => {
    const r = await c.cli(['--json', ...args]);
    assert.equal(r.code, expectCode, `${args.join(' ')}: ${r.stderr}`);
    return check(command, r.stdout);
  };
  before(async () => {
    c = await aliasCatalogue(engine, { name: 'jsonschema', films: 30, only: 'movies,genres,persons' });
  });
  after(async () => c?.cleanup());

  it('every command, against the real servers', async () => {
    await json('migrate', ['migrate']);
    const file = join(mkdtempSync(join(tmpdir(), 'movies-')), 'more.json');
    await json('generate', ['generate', '--films', '30', '--seed', '5', '--out', file]);
    await json('loaddata', ['loaddata', file]);
    // Before any index: search's missing index is the same error as elsewhere (exit 8), as JSON too.
    const missing = await json('error', ['search', 'star', 'trek'], 8);
    assert.equal((missing.error as { kind: string }).kind, 'index_missing');
    await json('init-es', ['init-es', ...mappingArgs(engine)]);
    const built = await json('init-es', ['init-es', ...mappingArgs(engine)]);
    assert.deepEqual((built.indexes as Array<{ name: string }>).map((i) => i.name), ['movies', 'genres', 'persons']);
    await c.db.raw('UPDATE content.film_work SET title = title || \' x\' WHERE id IN (SELECT id FROM content.film_work LIMIT 2)');
    const run = await json('start-etl', ['start-etl']);
    assert.equal(run.indexed, 2);
    const st = await json('status', ['status']);
    assert.equal(st.health, 'ok');
    const genres = (st.indexes as Array<Record<string, unknown>>).find((i) => i.name === 'genres')!;
    assert.equal(typeof genres.genres, 'number');
    assert.equal(genres.films, undefined, 'genres are not counted under films');
    await json('verify', ['verify']);
    // The rest of the line is the query: no quotes needed.
    const found = await json('search', ['search', 'the', 'film']);
    assert.equal(found.query, 'the film');
    const listed = await json('targets', ['targets']);
    await json('rollback', ['rollback']);
    const kept = (listed.targets as Array<{ id: number; state: string }>).find((t) => t.state === 'live')!;
    // Rolled back: the target that was live is kept now, and may be dropped.
    await json('targets drop', ['targets', 'drop', String(kept.id), '--yes']);
    await json('detach', ['detach', '--yes']);
  });

  it('errors: one {"error": {exit, kind, message}} line on stdout, and the line on stderr', async () => {
    const usage = await runCli(['--json', 'status', '--bogus'], c.env);
    assert.equal(usage.code, 2);
    assert.equal((check('error', usage.stdout).error as { kind: string }).kind, 'usage');
    assert.match(usage.stderr, /unknown option '--bogus'/);
    const down = await runCli(['--json', '--max-retry-time', '0', 'search', 'star'], { ...c.env, ELASTICSEARCH_URL: `http://127.0.0.1:${await freePort()}` });
    assert.equal(down.code, 3, down.stderr);
    const e = check('error', down.stdout).error as { exit: number; kind: string; message: string };
    assert.deepEqual([e.exit, e.kind], [3, 'connection']);
    assert.ok(down.stderr.includes(`error: ${e.message}`), down.stderr);
  });
});
