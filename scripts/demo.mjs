#!/usr/bin/env node
// `npm run demo`: services up, then the whole job on them, then one sample search.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { readEnvFile } from './services/config.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const run = (cmd, args, env = process.env) => {
  process.stderr.write(`\n$ ${[cmd, ...args].join(' ')}\n`);
  execFileSync(cmd, args, { cwd: root, stdio: 'inherit', env });
};

run('npm', ['run', '--silent', 'services:up']);
const env = { ...process.env, ...(await readEnvFile()) };
// The demo indexes into OpenSearch, which has the stemmers the default mapping needs.
env.ELASTICSEARCH_URL = env.OPENSEARCH_URL;
const shared = `${root}../shared/data/movies.json`;
const fixture = existsSync(shared) ? shared : `${root}fixtures/movies.json`;
const movies = (...args) => run(process.execPath, [`${root}bin/movies`, ...args], env);
movies('migrate');
movies('loaddata', fixture);
movies('init-es');
movies('start-etl', '--batch', '100');
movies('status');
movies('search', process.argv[2] ?? 'star trek');
