import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveConfig } from '../../src/config.js';
import { UsageError } from '../../src/errors.js';
import { redactUrl } from '../../src/redact.js';

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

describe('PostgreSQL error classes', async () => {
  const { isTransientPgError } = await import('../../src/db/retry.js');
  it('treats lost connections and restarts as transient, data errors as final', () => {
    assert.ok(isTransientPgError({ code: 'ECONNREFUSED', message: 'connect ECONNREFUSED' }));
    assert.ok(isTransientPgError({ code: '57P01', message: 'terminating connection due to administrator command' }));
    assert.ok(isTransientPgError(new Error('ROLLBACK - Client has encountered a connection error and is not queryable')));
    assert.ok(isTransientPgError(new Error('Connection terminated unexpectedly')));
    assert.ok(!isTransientPgError({ code: '23505', message: 'duplicate key' }));
    assert.ok(!isTransientPgError(new Error('syntax error')));
  });
});
