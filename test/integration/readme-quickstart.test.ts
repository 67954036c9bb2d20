/*
 * The README's quick start, exactly as written: every `movies …` line is accepted by the CLI's own
 * parser (buildProgram, with the actions replaced), every `npm …` line names a script or an npm
 * command that exists, and the `movies` lines run, in order, against a database and an index
 * prefix of their own, each exiting 0. A flag, command or script the README names and the code
 * does not have fails here.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { Command } from 'commander';
import { buildProgram } from '../../src/cli/program.js';
import { runCli } from '../helpers/cli.js';
import { emptyDatabase } from '../helpers/db.js';
import { deleteIndex } from '../helpers/engine.js';
import { root, serviceEnv } from '../helpers/env.js';

const readme = readFileSync(`${root}README.md`, 'utf8');
const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { scripts: Record<string, string> };

/** The ```sh blocks of the "## Quick start" section. */
function quickStartBlocks(text: string): string[] {
  const start = text.search(/^## Quick start\b/m);
  assert.ok(start >= 0, 'README.md has a "## Quick start" section');
  const rest = text.slice(start + 1);
  const end = rest.search(/^## /m);
  const section = end >= 0 ? rest.slice(0, end) : rest;
  return [...section.matchAll(/^```(?:sh|bash|shell)\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
}

/** Shell words of one simple command: quotes and backslashes as sh reads them, no expansion. */
function words(command: string): string[] {
  const out: string[] = [];
  let cur = '';
  let has = false;
  for (let i = 0; i < command.length; i++) {
    const c = command[i]!;
    if (c === "'") {
      const j = command.indexOf("'", i + 1);
      assert.ok(j > i, `unclosed quote in: ${command}`);
      cur += command.slice(i + 1, j);
      i = j;
      has = true;
    } else if (c === '"') {
      let j = i + 1;
      while (j < command.length && command[j] !== '"') {
        if (command[j] === '\\' && j + 1 < command.length) j++;
        cur += command[j];
        j++;
      }
      assert.ok(j < command.length, `unclosed quote in: ${command}`);
      i = j;
      has = true;
    } else if (c === '\\' && i + 1 < command.length) {
      cur += command[++i];
      has = true;
    } else if (/\s/.test(c)) {
      if (has) out.push(cur);
      cur = '';
      has = false;
    } else {
      cur += c;
      has = true;
    }
  }
  if (has) out.push(cur);
  return out;
}

/** Each simple command of a block: comments dropped, lists (`&&`, `||`, `;`) split. */
export function commands(block: string): string[][] {
  const out: string[][] = [];
  for (const raw of block.split('\n')) {
    // A `#` starts a comment at the start of a word (the README's lines quote no `#`).
    const line = raw.replace(/(^|\s)#.*$/, '').trim();
    if (line === '') continue;
    for (const part of line.split(/&&|\|\||;/)) {
      const w = words(part.trim());
      if (w.length > 0) out.push(w);
    }
  }
  return out;
}

/** Whether the CLI's parser accepts `movies <args>`: the real program, every action a no-op. */
async function parses(args: string[]): Promise<string | undefined> {
  const program = buildProgram();
  const quiet = (c: Command) => {
    c.exitOverride().configureOutput({ writeOut: () => {}, writeErr: () => {} });
    // Commands with subcommands keep their dispatch; the leaves do nothing.
    if (c.commands.length === 0) c.action(() => {});
    for (const sub of c.commands) quiet(sub);
  };
  quiet(program);
  try {
    await program.parseAsync(args, { from: 'user' });
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

// npm's own commands the quick start may use; anything else must be a script of package.json.
const NPM_COMMANDS = new Set(['ci', 'install', 'pack', 'exec']);
// Shell builtins that only set up the environment.
const SHELL = new Set(['source', '.', 'export', 'set', 'cd']);

function npmProblem(w: string[]): string | undefined {
  const [sub, name] = [w[1], w[2]];
  if (sub === 'run' || sub === 'run-script') return name && pkg.scripts[name] ? undefined : `no script "${name}" in package.json`;
  if (sub === 'test' || sub === 'start') return pkg.scripts[sub] ? undefined : `no script "${sub}" in package.json`;
  return sub && NPM_COMMANDS.has(sub) ? undefined : `"npm ${sub}" is not a command the quick start may use`;
}

const blocks = quickStartBlocks(readme);
const all = blocks.flatMap(commands);
const movies = all.filter((w) => w[0] === 'movies').map((w) => w.slice(1));

describe("README's quick start", () => {
  it('has set-up commands and movies commands', () => {
    assert.ok(blocks.length > 0, 'a ```sh block in the quick start');
    assert.ok(all.some((w) => w[0] === 'npm'), 'an npm line');
    assert.ok(movies.length > 0, 'a movies line');
  });

  it('names only npm scripts and npm commands that exist, and nothing but shell set-up besides', () => {
    for (const w of all) {
      if (w[0] === 'npm') assert.equal(npmProblem(w), undefined, w.join(' '));
      else if (w[0] !== 'movies') assert.ok(SHELL.has(w[0]!), `"${w.join(' ')}": not movies, npm or shell set-up`);
    }
  });

  it("every movies line is accepted by the CLI's parser", async () => {
    for (const args of movies) assert.equal(await parses(args), undefined, `movies ${args.join(' ')}`);
  });

  it('the parser check refuses what does not exist', async () => {
    assert.match((await parses(['init-es', '--no-such-flag'])) ?? '', /unknown option/);
    assert.match((await parses(['no-such-command'])) ?? '', /unknown command/);
    assert.equal(npmProblem(['npm', 'run', 'no-such-script']), 'no script "no-such-script" in package.json');
  });

  describe('run as written', () => {
    const services = serviceEnv();
    const prefix = `readme_${process.pid}_`;
    let h: Awaited<ReturnType<typeof emptyDatabase>>;
    before(async () => {
      // An empty database: the quick start's own `movies migrate` creates the catalogue.
      h = await emptyDatabase(services.DATABASE_URL, 'movies_readme');
    });
    after(async () => {
      for (const name of ['movies', 'genres', 'persons']) await deleteIndex(services.ELASTICSEARCH_URL, prefix + name);
      await h.drop();
    });

    it('every movies line exits 0, in order, against the services', { timeout: 40_000 }, async () => {
      // What `source .services/env` gives, with a database and index names of this test's own.
      const env = {
        DATABASE_URL: h.url,
        ELASTICSEARCH_URL: services.ELASTICSEARCH_URL,
        OPENSEARCH_URL: services.OPENSEARCH_URL,
        MOVIES_INDEX_PREFIX: prefix,
        MOVIES_ONLY: 'movies,genres,persons',
      };
      for (const args of movies) {
        // A watch runs until stopped: the parser check above is its test.
        if (args.includes('--watch')) continue;
        const r = await runCli(args, env, { timeoutMs: 30_000 });
        assert.equal(r.code, 0, `movies ${args.join(' ')} exited ${r.code}:\n${r.stderr}`);
      }
    });
  });
});
