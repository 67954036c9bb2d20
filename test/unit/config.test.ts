import { readFileSync } from 'node:fs';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BOUNDS, captureChoice, parseInteger, resolveConfig, slotLagLimit } from '../../src/config/resolve.js';
import { UsageError } from '../../src/core/errors.js';
import { redactUrl } from '../../src/core/redact.js';

describe('config', () => {
  it('takes flags over environment over defaults', () => {
    const env = { DATABASE_URL: 'postgres://env/db', ELASTICSEARCH_URL: 'http://env:9200', MOVIES_INDEX: 'from_env' };
    assert.equal(resolveConfig({}, {}).engine.url, 'http://127.0.0.1:9200');
    assert.equal(resolveConfig({}, {}).index, 'movies');
    assert.equal(resolveConfig({}, env).index, 'from_env');
    assert.equal(resolveConfig({ index: 'from_flag' }, env).index, 'from_flag');
    assert.equal(resolveConfig({ databaseUrl: 'postgres://flag/db' }, env).databaseUrl, 'postgres://flag/db');
    assert.equal(resolveConfig({}, env).engine.url, 'http://env:9200');
  });

  it('rejects bad values once, at the edge, with usage errors', () => {
    assert.throws(() => resolveConfig({ esUrl: 'ftp://x' }, {}), UsageError);
    assert.throws(() => resolveConfig({ databaseUrl: 'not a url' }, {}), UsageError);
    assert.throws(() => resolveConfig({ index: 'Bad Index' }, {}), UsageError);
    assert.throws(() => resolveConfig({ engine: 'solr' }, {}), UsageError);
    assert.throws(() => resolveConfig({ maxRetryTime: '-1' }, {}), UsageError);
    assert.throws(() => resolveConfig({}, { ELASTICSEARCH_USERNAME: 'u' }), UsageError);
  });

  it('moves credentials out of the engine URL into auth', () => {
    const c = resolveConfig({ esUrl: 'https://elastic:p%40ss@es.example:9243/' }, {});
    assert.equal(c.engine.url, 'https://es.example:9243');
    assert.equal(c.engine.username, 'elastic');
    assert.equal(c.engine.password, 'p@ss');
  });

  it('an API key wins over basic auth', async () => {
    const { engineAuth } = await import('../../src/engine/auth.js');
    const both = resolveConfig({}, { ELASTICSEARCH_API_KEY: 'k', ELASTICSEARCH_USERNAME: 'u', ELASTICSEARCH_PASSWORD: 'p' });
    assert.deepEqual(engineAuth(both.engine), { apiKey: 'k' });
    assert.deepEqual(engineAuth(resolveConfig({}, { ELASTICSEARCH_USERNAME: 'u', ELASTICSEARCH_PASSWORD: 'p' }).engine), { username: 'u', password: 'p' });
    assert.equal(engineAuth(resolveConfig({}, {}).engine), undefined);
  });

  it('never shows a password', () => {
    assert.equal(redactUrl('postgres://u:secret@h:5432/db'), 'postgres://u:***@h:5432/db');
    assert.ok(!redactUrl('http://elastic:hunter2@es:9200').includes('hunter2'));
    let message = '';
    try {
      resolveConfig({ databaseUrl: 'postgres://u:secret@h:notaport/db' }, {});
    } catch (e) {
      message = (e as Error).message;
    }
    assert.ok(!message.includes('secret'));
  });
});

describe('config: server URLs', () => {
  /** The UsageError message resolveConfig throws for these flags and environment. */
  function usageMessage(flags: Parameters<typeof resolveConfig>[0], env: NodeJS.ProcessEnv = {}): string {
    try {
      resolveConfig(flags, env);
    } catch (e) {
      assert.ok(e instanceof UsageError, `${String(e)} is not a UsageError`);
      return e.message;
    }
    assert.fail(`accepted ${JSON.stringify({ flags, env })}`);
  }

  it('says why a database URL is malformed, naming the variable, never the password', () => {
    const cases: Array<[string, RegExp]> = [
      ['postgres://etl:%zz-hunter2@db/movies', /^DATABASE_URL: the password has a malformed percent-escape/],
      ['postgres://%zz:hunter2@db/movies', /^DATABASE_URL: the user name has a malformed percent-escape/],
      ['postgres://etl:hunter2@db/mo%zzvies', /^DATABASE_URL: the database name has a malformed percent-escape/],
      ['postgres://etl:hunter2@db:notaport/movies', /^DATABASE_URL is not usable: the port is not a number$/],
      ['postgres://etl:hunter2@db:99999/movies', /^DATABASE_URL is not usable: the port is out of range/],
      ['postgres://etl:hunter2@db:0/movies', /^DATABASE_URL is not usable: the port is out of range/],
      ['postgres:///', /^DATABASE_URL is not usable: it names no host/],
      ['postgres://etl:hunter2@/movies', /^DATABASE_URL is not usable: it names no host/],
      ['postgres://etl:hunter2@:5432/movies', /^DATABASE_URL is not usable: it names no host/],
      ['postgresql://[::1', /^DATABASE_URL is not usable: the IPv6 address has no closing "\]"/],
      ['postgres://etl:pa/ss-hunter2@db/movies', /^DATABASE_URL is not usable: .*before the "@".*percent-encoded/],
      ['postgres://etl:pa#ss-hunter2@db/movies', /^DATABASE_URL is not usable: .*before the "@".*percent-encoded/],
      ['db.example/movies', /^DATABASE_URL is not usable: it is not a URL/],
      ['mysql://etl:hunter2@db/movies', /^DATABASE_URL must use postgres: or postgresql: \(got mysql:\)/],
      ['postgres://db/movies?sslmode=bogus', /^DATABASE_URL: sslmode "bogus" is not one of disable, prefer, require/],
      ['postgres://db/movies?sslmode=allow', /sslmode "allow"/],
    ];
    for (const [url, pattern] of cases) {
      const message = usageMessage({}, { DATABASE_URL: url });
      assert.match(message, pattern, url);
      assert.doesNotMatch(message, /hunter2|pa\/ss|pa#ss/, url);
      assert.match(usageMessage({ databaseUrl: url }, {}), /^--database-url/, `${url} as a flag`);
    }
  });

  it('accepts the database URLs pg can use', () => {
    for (const url of [
      'postgres://postgres@127.0.0.1:5432/movies',
      'postgresql://etl:p%40ss%2Fword@db.example/movies?sslmode=verify-full',
      'postgres://etl@[::1]:5432/movies?sslmode=disable',
      'postgres:///movies?host=/var/run/postgresql',
      'postgres://db',
    ]) {
      assert.equal(resolveConfig({}, { DATABASE_URL: url }).databaseUrl, url);
    }
  });

  it('says why an engine URL is malformed, naming the flag or the variable', () => {
    assert.match(usageMessage({}, { ELASTICSEARCH_URL: 'http://es:notaport' }), /^ELASTICSEARCH_URL is not usable: the port is not a number/);
    assert.match(usageMessage({ esUrl: 'http://es:70000' }), /^--es-url is not usable: the port is out of range/);
    assert.match(usageMessage({ esUrl: 'es.example:9200' }), /^--es-url must use http: or https:/);
    const bad = usageMessage({}, { ELASTICSEARCH_URL: 'http://elastic:%zz-hunter2@es:9200' });
    assert.match(bad, /^ELASTICSEARCH_URL: the password has a malformed percent-escape/);
    assert.doesNotMatch(bad, /hunter2/);
    assert.equal(resolveConfig({ esUrl: 'http://es:9200' }, {}).engine.urlName, '--es-url');
    assert.equal(resolveConfig({}, { ELASTICSEARCH_URL: 'http://es:9200' }).engine.urlName, 'ELASTICSEARCH_URL');
  });
});

describe('PostgreSQL error classes', async () => {
  const { isTransientPgError } = await import('../../src/db/errors.js');
  it('treats lost connections and restarts as transient, data errors as final', () => {
    assert.ok(isTransientPgError({ code: 'ECONNREFUSED', message: 'connect ECONNREFUSED' }));
    assert.ok(isTransientPgError({ code: '57P01', message: 'terminating connection due to administrator command' }));
    assert.ok(isTransientPgError(new Error('ROLLBACK - Client has encountered a connection error and is not queryable')));
    assert.ok(isTransientPgError(new Error('Connection terminated unexpectedly')));
    assert.ok(!isTransientPgError({ code: '23505', message: 'duplicate key' }));
    assert.ok(!isTransientPgError(new Error('syntax error')));
  });
});

describe('config: integer options', () => {
  it('takes plain decimal integers within the bounds, and nothing else', () => {
    assert.equal(parseInteger('--batch', '500'), 500);
    assert.equal(parseInteger('--batch', '10000'), 10_000);
    assert.equal(parseInteger('--keep', '0'), 0);
    assert.equal(parseInteger('--max-retry-time', '0'), 0);
    for (const bad of ['1e9', '0x10', '0b1', '0o7', '1.5', '2.0', '-1', '+5', ' 5', '5 ', '', 'Infinity', 'NaN', '1_000', '10001', '99999999999999999999']) {
      const r = parseInteger('--batch', bad);
      assert.equal(typeof r, 'string', `accepted "${bad}"`);
      assert.equal(r, `--batch must be a whole number from 1 to 10,000, in decimal digits (got "${bad}")`);
    }
    assert.equal(typeof parseInteger('--keep', '101'), 'string');
    assert.equal(typeof parseInteger('--statement-timeout', '0'), 'string');
  });

  it('every bound is an integer range', () => {
    for (const [name, { min, max }] of Object.entries(BOUNDS)) {
      assert.ok(Number.isSafeInteger(min) && Number.isSafeInteger(max) && min <= max, name);
    }
  });

  it("the README's table of bounds says what BOUNDS says", () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const fmt = (n: number) => n.toLocaleString('en-US');
    for (const [name, { min, max }] of Object.entries(BOUNDS)) {
      if (!name.startsWith('--') || name === '--seed') continue;
      const row = new RegExp('`' + name + '`[^|]*\\| ' + fmt(min) + '–' + fmt(max) + ' \\|');
      assert.match(readme, row, `README row for ${name}: ${fmt(min)}–${fmt(max)}`);
    }
  });

  it('the retry budget and statement bound from flags or environment use the same parser', () => {
    assert.throws(() => resolveConfig({ maxRetryTime: '1e3' }, {}), /--max-retry-time must be a whole number from 0 to 86,400/);
    assert.throws(() => resolveConfig({}, { MOVIES_MAX_RETRY_TIME: '0x10' }), /MOVIES_MAX_RETRY_TIME must be a whole number/);
    assert.throws(() => resolveConfig({ statementTimeout: '0.5' }, {}), /--statement-timeout must be a whole number from 1 to 86,400/);
    assert.equal(resolveConfig({ maxRetryTime: '5' }, {}).maxRetryTimeMs, 5_000);
    assert.equal(resolveConfig({ statementTimeout: '3' }, {}).timeouts.statementMs, 3_000);
  });

  it('names MOVIES_ENGINE when the engine kind came from there', () => {
    assert.throws(() => resolveConfig({}, { MOVIES_ENGINE: 'solr' }), /^UsageError: MOVIES_ENGINE must be auto/);
    assert.equal(resolveConfig({ engine: 'opensearch' }, {}).engine.engineName, '--engine');
  });
});

describe('config: capture settings', () => {
  it('--capture beats MOVIES_CAPTURE; unset keeps what the database recorded; anything else is a usage error naming its source', () => {
    assert.equal(captureChoice('logical', { MOVIES_CAPTURE: 'triggers' }), 'logical');
    assert.equal(captureChoice(undefined, { MOVIES_CAPTURE: 'logical' }), 'logical');
    assert.equal(captureChoice(undefined, {}), undefined);
    assert.throws(() => captureChoice('wal', {}), (e: unknown) => e instanceof UsageError && /--capture must be triggers or logical \(got "wal"\)/.test(e.message));
    assert.throws(() => captureChoice(undefined, { MOVIES_CAPTURE: 'Logical' }), /MOVIES_CAPTURE must be/);
  });

  it('--max-slot-lag is a size (1024-based, PostgreSQL units) or a time', () => {
    assert.deepEqual(slotLagLimit('512MB', {}), { bytes: 512 * 1024 * 1024 });
    assert.deepEqual(slotLagLimit('1GB', {}), { bytes: 1024 ** 3 });
    assert.deepEqual(slotLagLimit('8kB', {}), { bytes: 8192 });
    assert.deepEqual(slotLagLimit('300s', {}), { seconds: 300 });
    assert.deepEqual(slotLagLimit('15min', {}), { seconds: 900 });
    assert.deepEqual(slotLagLimit(undefined, { MOVIES_MAX_SLOT_LAG: '2h' }), { seconds: 7200 });
    assert.equal(slotLagLimit(undefined, {}), undefined);
    for (const bad of ['lots', '1.5GB', '-1MB', '10', 'GB', '5 parsecs']) {
      assert.throws(() => slotLagLimit(bad, {}), (e: unknown) => e instanceof UsageError && /--max-slot-lag must be a size/.test(e.message), bad);
    }
  });
});
