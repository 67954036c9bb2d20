import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { serviceEnv } from '../helpers/env.js';
import { ExitCode } from '../../src/core/errors.js';

const services = serviceEnv();

describe('errors: exit codes, messages, secrets', () => {
  it('never prints secrets, even when connections fail', async () => {
    const env = {
      DATABASE_URL: 'postgres://etl:pg-hunter2@127.0.0.1:1/movies',
      ELASTICSEARCH_URL: 'http://elastic:es-hunter2@127.0.0.1:2',
      ELASTICSEARCH_PASSWORD: 'env-hunter2',
      ELASTICSEARCH_USERNAME: 'elastic',
      ELASTICSEARCH_API_KEY: 'key-hunter2',
    };
    for (const args of [['status'], ['--debug', 'start-etl'], ['--json', 'migrate'], ['--debug', 'init-es']]) {
      const r = await runCli(['--max-retry-time', '0', ...args], env);
      assert.equal(r.code, ExitCode.connection, `${args.join(' ')}: ${r.stderr}`);
      assert.doesNotMatch(r.stdout + r.stderr, /hunter2/, args.join(' '));
    }
  });

  it('shows a stack trace only with --debug', async () => {
    const env = { DATABASE_URL: services.DATABASE_URL, ELASTICSEARCH_URL: 'http://127.0.0.1:2' };
    const plain = await runCli(['--max-retry-time', '0', 'start-etl'], env);
    const debug = await runCli(['--max-retry-time', '0', '--debug', 'start-etl'], env);
    assert.equal(plain.code, ExitCode.connection);
    assert.equal(debug.code, ExitCode.connection);
    assert.doesNotMatch(plain.stderr, /\n\s+at /);
    assert.match(debug.stderr, /\n\s+at /);
  });

  it('usage errors exit 2 with the reason', async () => {
    const env = { DATABASE_URL: services.DATABASE_URL };
    const cases: Array<[string[], RegExp]> = [
      [['start-etl', '--batch', 'ten'], /--batch must be a whole number from 1 to 10,000/],
      [['--engine', 'solr', 'status'], /solr/],
      [['nosuchcommand'], /unknown command/],
      [['--index', 'Bad Name', 'status'], /index name/],
      [['loaddata', '/nonexistent/file.json'], /cannot read fixture/],
    ];
    for (const [args, pattern] of cases) {
      const r = await runCli(args, env);
      assert.equal(r.code, ExitCode.usage, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, pattern);
    }
  });
});
