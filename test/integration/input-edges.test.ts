import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { freshDatabase } from '../helpers/db.js';
import { serviceEnv } from '../helpers/env.js';
import { ExitCode } from '../../src/core/errors.js';

/*
 * Issue 21, item 6: integer options take plain decimal integers within their documented bounds
 * (nothing JavaScript's Number() would also read, like "1e9" or "0x10"), and --engine must name
 * what the server is.
 */
const services = serviceEnv();

describe('input edges: integer options', () => {
  // [arguments, the option the message must name, its bounds as the message says them]
  const cases: Array<[string[], string, string]> = [
    [['start-etl', '--batch', '1e9'], '--batch', '1 to 10,000'],
    [['start-etl', '--batch', '0x10'], '--batch', '1 to 10,000'],
    [['start-etl', '--batch', '10001'], '--batch', '1 to 10,000'],
    [['start-etl', '--batch', '2.0'], '--batch', '1 to 10,000'],
    [['start-etl', '--concurrency', '1e1'], '--concurrency', '1 to 32'],
    [['start-etl', '--concurrency', ' 2'], '--concurrency', '1 to 32'],
    [['init-es', '--batch', '0b11'], '--batch', '1 to 10,000'],
    [['init-es', '--keep', '0x1'], '--keep', '0 to 100'],
    [['init-es', '--keep', '-1'], '--keep', '0 to 100'],
    [['start-etl', '--watch', '--poll-interval', '1e3'], '--poll-interval', '1 to 3,600'],
    [['start-etl', '--watch', '--poll-interval', '0.5'], '--poll-interval', '1 to 3,600'],
    [['start-etl', '--watch', '--max-lag', 'Infinity'], '--max-lag', '1 to 86,400'],
    [['start-etl', '--watch', '--metrics-port', '0x1F90'], '--metrics-port', '1 to 65,535'],
    [['start-etl', '--watch', '--metrics-port', '70000'], '--metrics-port', '1 to 65,535'],
    [['verify', '--page', '1e4'], '--page', '1 to 10,000'],
    [['verify', '--page', '20000'], '--page', '1 to 10,000'],
    [['search', 'x', '--size', '0x5'], '--size', '1 to 10,000'],
    [['generate', '--films', '1e6'], '--films', '1 to 100,000,000'],
    [['targets', 'drop', '0x1'], '<id>', '1 to'],
    [['--max-retry-time', '1e3', 'status'], '--max-retry-time', '0 to 86,400'],
    [['--max-retry-time', '0x10', 'status'], '--max-retry-time', '0 to 86,400'],
    [['--statement-timeout', '5e1', 'status'], '--statement-timeout', '1 to 86,400'],
    [['--statement-timeout', '0', 'status'], '--statement-timeout', '1 to 86,400'],
  ];
  const env = { DATABASE_URL: 'postgres://postgres@127.0.0.1:2/none', ELASTICSEARCH_URL: 'http://127.0.0.1:2' };
  for (const [args, option, bounds] of cases) {
    it(`${args.join(' ')}: exit 2 naming ${option}, the value and the bounds`, async () => {
      const r = await runCli(args, env, { timeoutMs: 20_000 });
      const value = args[args.indexOf(option) + 1] ?? args[args.length - 1]!;
      assert.equal(r.code, ExitCode.usage, `${args.join(' ')}: exit ${r.code}, stderr: ${r.stderr}`);
      assert.ok(r.stderr.includes(`${option} must be a whole number from ${bounds}`), r.stderr);
      assert.ok(r.stderr.includes(`(got "${option === '<id>' ? '0x1' : value}")`), r.stderr);
    });
  }

  it('names the environment variable when the value came from there', async () => {
    const r = await runCli(['status'], { ...env, MOVIES_MAX_RETRY_TIME: '6e1' }, { timeoutMs: 20_000 });
    assert.equal(r.code, ExitCode.usage, r.stderr);
    assert.match(r.stderr, /MOVIES_MAX_RETRY_TIME must be a whole number from 0 to 86,400, in decimal digits \(got "6e1"\)/);
  });
});

describe('input edges: --engine must match the server', () => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  before(async () => {
    db = await freshDatabase(services.DATABASE_URL, 'movies_edges');
  });
  after(async () => {
    await db?.drop();
  });

  it('--engine elasticsearch against OpenSearch exits 2, saying what was asked and what the server is', async () => {
    const r = await runCli(['--engine', 'elasticsearch', '--index', 'edges_movies', 'start-etl'], {
      DATABASE_URL: db.url,
      ELASTICSEARCH_URL: services.OPENSEARCH_URL,
    });
    assert.equal(r.code, ExitCode.usage, `exit ${r.code}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, /--engine elasticsearch does not match the server at .*: it reports opensearch \d+\.\d+/);
    assert.doesNotMatch(r.stdout, /elasticsearch \d/);
  });

  it('MOVIES_ENGINE=opensearch against Elasticsearch exits 2 naming the variable', async () => {
    const r = await runCli(['--index', 'edges_movies', 'start-etl'], {
      DATABASE_URL: db.url,
      ELASTICSEARCH_URL: services.ELASTICSEARCH_URL,
      MOVIES_ENGINE: 'opensearch',
    });
    assert.equal(r.code, ExitCode.usage, `exit ${r.code}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, /MOVIES_ENGINE opensearch does not match the server at .*: it reports elasticsearch \d+\.\d+/);
  });

  it('--engine naming what the server is works as auto does', async () => {
    const r = await runCli(['--engine', 'opensearch', '--index', 'edges_movies', 'status'], {
      DATABASE_URL: db.url,
      ELASTICSEARCH_URL: services.OPENSEARCH_URL,
    });
    // The index was never built: status says so (8), having talked to the engine.
    assert.equal(r.code, ExitCode.indexMissing, `exit ${r.code}: ${r.stdout}${r.stderr}`);
  });
});
