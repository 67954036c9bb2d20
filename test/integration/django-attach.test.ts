import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { emptyDatabase } from '../helpers/db.js';
import { CAPTURES } from '../helpers/captures.js';
import { allDocs, changedIds, deleteIndex, type IndexedDoc } from '../helpers/engine.js';
import { ENGINES } from '../helpers/engines.js';
import { root, serviceEnv, sharedFixture } from '../helpers/env.js';
import { canonical, truth } from '../helpers/truth.js';
import { genreTruth, personTruth } from '../helpers/truth-indexes.js';
import { existsSync } from 'node:fs';

const services = serviceEnv();
const engine = ENGINES[0]!;
const PYTHON = '/usr/bin/python3';
const project = `${root}test/django`;
const INDEXES = ['movies', 'genres', 'persons'] as const;

/** Why the real Django project cannot run here, or undefined. */
function djangoMissing(): string | undefined {
  if (!existsSync(sharedFixture)) return `${sharedFixture} is absent`;
  const r = spawnSync(PYTHON, ['-c', 'import django, model_utils, psycopg2'], { encoding: 'utf8' });
  return r.status === 0 ? undefined : `Debian's python3-django, python3-django-model-utils and python3-psycopg2 are not installed (${r.stderr.trim().split('\n').at(-1)})`;
}

/** A document's comparable text: the film truth's canonical form, else its JSON with sorted keys. */
function comparable(index: string, d: unknown): string {
  if (d === undefined) return 'absent';
  if (index === 'movies') return canonical(d as Record<string, unknown>);
  const sorted = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(sorted) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b)).map(([k, x]) => [k, sorted(x)])) : v;
  return JSON.stringify(sorted(d));
}

const EDITS = ['genre-renamed-in-admin', 'film-retitled', 'person-added', 'person-removed', 'film-created', 'film-deleted', 'person-renamed-in-admin'];

/** pg_dump --schema-only without its header's random \restrict keys. */
function schemaDump(url: string): string {
  return execFileSync('pg_dump', ['--schema-only', url], { maxBuffer: 1 << 28 })
    .toString()
    .split('\n')
    .filter((l) => !/^\\(un)?restrict /.test(l))
    .join('\n');
}

for (const capture of CAPTURES)
for (const scenario of [
  { name: 'schema content through the search_path', schema: 'content', searchPath: 'content' },
  { name: "schema public, Django's default", schema: 'public', searchPath: undefined },
]) {
  describe(`the original Django project's own schema and data, ${scenario.name} (${capture.mode} capture)`, { skip: djangoMissing() }, () => {
    const prefix = `django_${scenario.schema}_${capture.mode.slice(0, 1)}${process.pid}_`;
    let h: Awaited<ReturnType<typeof emptyDatabase>> | undefined;
    after(async () => {
      for (const i of INDEXES) await deleteIndex(engine.url, `${prefix}${i}`);
      await h?.drop();
    });

    it('migrate adopts it untouched, every ORM and admin edit is indexed exactly, and detach restores its schema dump', async () => {
      h = await emptyDatabase(capture.databaseUrl, 'movies_django');
      const db = h.db;
      const django = (args: string[]) =>
        execFileSync(PYTHON, args, {
          cwd: project,
          env: {
            PATH: process.env.PATH ?? '',
            DJANGO_DATABASE: new URL(h!.url).pathname.slice(1),
            DJANGO_DB_HOST: new URL(h!.url).hostname,
            DJANGO_DB_PORT: new URL(h!.url).port || '5432',
            ...(scenario.searchPath ? { DJANGO_SEARCH_PATH: scenario.searchPath } : {}),
          },
        }).toString();
      if (scenario.searchPath) await db.raw(`CREATE SCHEMA ${scenario.searchPath}`);
      django(['manage.py', 'migrate', '-v0']);
      django(['manage.py', 'loaddata', '-v0', sharedFixture]);
      const before = schemaDump(h.url);
      const env = { DATABASE_URL: h.url, ELASTICSEARCH_URL: engine.url, MOVIES_SCHEMA: scenario.schema, MOVIES_INDEX_PREFIX: prefix, MOVIES_ONLY: INDEXES.join(','), MOVIES_CAPTURE: capture.mode };
      const cli = async (args: string[]) => {
        const r = await runCli(args, env);
        assert.equal(r.code, 0, `movies ${args.join(' ')}: ${r.stderr}`);
        return r;
      };
      const migrated = JSON.parse((await cli(['--json', 'migrate'])).stdout) as { created: boolean };
      assert.equal(migrated.created, false, 'the tables Django made are adopted');
      await cli(['init-es', ...(engine.mapping ? ['--mapping', engine.mapping] : [])]);

      const docs = async () => Object.fromEntries(await Promise.all(INDEXES.map(async (i) => [i, await allDocs(engine.url, `${prefix}${i}`)] as const))) as Record<(typeof INDEXES)[number], Map<string, IndexedDoc>>;
      const truths = async () => ({ movies: await truth(db, scenario.schema), genres: await genreTruth(db, scenario.schema), persons: await personTruth(db, scenario.schema) });
      const expectEqual = (got: Awaited<ReturnType<typeof docs>>, want: Awaited<ReturnType<typeof truths>>, what: string) => {
        for (const i of INDEXES) {
          const w = want[i] as Map<string, unknown>;
          assert.equal(got[i].size, w.size, `${what}: ${i} has as many documents as the truth`);
          for (const [id, d] of w) assert.equal(comparable(i, got[i].get(id)?.source), comparable(i, d), `${what}: ${i} ${id}`);
        }
      };
      let seen = await docs();
      let known = await truths();
      expectEqual(seen, known, 'after init-es');
      for (const edit of EDITS) {
        django(['edits.py', edit]);
        await cli(['start-etl']);
        const now = await docs();
        const want = await truths();
        expectEqual(now, want, edit);
        for (const i of INDEXES) {
          // Rewritten documents are exactly those whose truth changed (added, changed or deleted).
          const w = want[i] as Map<string, unknown>;
          const k = known[i] as Map<string, unknown>;
          const changed = [...new Set([...w.keys(), ...k.keys()])].filter((id) => comparable(i, w.get(id)) !== comparable(i, k.get(id)));
          assert.deepEqual(changedIds(seen[i], now[i]).sort(), changed.sort(), `${edit}: ${i}: only the documents that changed are rewritten`);
        }
        seen = now;
        known = want;
      }
      await cli(['verify', '--deep']);
      await cli(['detach', '--yes']);
      assert.equal(schemaDump(h.url), before, 'detach leaves the schema as Django made it');
      // Django goes on working, and nothing of movies' comes back.
      django(['edits.py', 'film-retitled']);
      django(['edits.py', 'genre-renamed-in-admin']);
      const left = await db.raw(`SELECT count(*)::int AS n FROM pg_namespace WHERE nspname = 'movies'`);
      assert.equal(left.rows[0].n, 0);
    });
  });
}
