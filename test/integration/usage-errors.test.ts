import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { serviceEnv } from '../helpers/env.js';
import { ExitCode } from '../../src/core/errors.js';

const services = serviceEnv();

/** The services' PostgreSQL URL with another user, password or database. */
function pgUrl(change: { user?: string; password?: string; database?: string }): string {
  const u = new URL(services.DATABASE_URL);
  if (change.user) u.username = change.user;
  if (change.password) u.password = change.password;
  if (change.database) u.pathname = `/${change.database}`;
  return u.toString();
}

describe('usage errors: one line and where the help is', () => {
  it('an unknown option, a missing argument or command: the reason and `see movies <command> --help`, not the whole help', async () => {
    const cases: Array<[string[], RegExp, string]> = [
      [['status', '--bogus'], /unknown option '--bogus'/, 'movies status --help'],
      [['targets', 'drop'], /missing required argument 'id'/, 'movies targets drop --help'],
      [['nosuchcommand'], /unknown command 'nosuchcommand'/, 'movies --help'],
    ];
    for (const [args, reason, hint] of cases) {
      const r = await runCli(args, { DATABASE_URL: services.DATABASE_URL });
      assert.equal(r.code, ExitCode.usage, args.join(' '));
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 2, `two lines, not the help: ${r.stderr}`);
      assert.match(lines[0]!, reason);
      assert.ok(lines[1]!.endsWith(`see \`${hint}\``), lines[1]);
      assert.doesNotMatch(r.stderr, /Usage:|Options:/);
      assert.equal(r.stdout, '');
    }
  });
});

describe('PostgreSQL refuses the configuration: exit 2 with the fix, not an outage', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['a database that does not exist', pgUrl({ database: 'movies_no_such_db' }), /database "movies_no_such_db" does not exist: create it \(createdb movies_no_such_db\) or fix --database-url or DATABASE_URL/],
    ['a role that does not exist', pgUrl({ user: 'movies_no_such_role', password: 'pw-hunter2' }), /role "movies_no_such_role" does not exist: create the role .* or fix the user in --database-url or DATABASE_URL/],
  ];
  for (const [what, url, fix] of cases) {
    it(`${what}: exit 2 at once (not retried for the 60 s budget), the fix in the message, as JSON too`, async () => {
      for (const command of ['status', 'start-etl', 'migrate']) {
        const started = Date.now();
        const r = await runCli(['--json', command], { DATABASE_URL: url, ELASTICSEARCH_URL: services.OPENSEARCH_URL });
        const seconds = (Date.now() - started) / 1000;
        assert.equal(r.code, ExitCode.usage, `${command}: ${r.stderr}`);
        assert.ok(seconds < 10, `${command} took ${seconds} s: retried?`);
        assert.doesNotMatch(r.stderr, /retry/);
        assert.match(r.stderr, fix);
        const e = JSON.parse(r.stdout).error;
        assert.equal(e.kind, 'usage');
        assert.match(e.message, fix);
        assert.doesNotMatch(r.stdout + r.stderr, /hunter2/);
      }
    });
  }
});
