import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { toMoviesError } from '../../src/db/errors.js';
import { UsageError } from '../../src/core/errors.js';

// The test PostgreSQL trusts every local connection, so a rejected password is only seen here.
describe('PostgreSQL refusals of the configuration are usage errors with the fix', () => {
  it('28P01 (password), 28000 (pg_hba.conf), 3D000 (database)', () => {
    const cases: Array<[string, string, RegExp]> = [
      ['28P01', 'password authentication failed for user "etl"', /password authentication failed for user "etl": fix the password in --database-url or DATABASE_URL/],
      ['28000', 'no pg_hba.conf entry for host "10.0.0.1", user "etl", database "movies", no encryption', /allow it in pg_hba.conf or fix --database-url/],
      ['3D000', 'database "films" does not exist', /create it \(createdb films\)/],
    ];
    for (const [code, message, fix] of cases) {
      const e = toMoviesError(Object.assign(new Error(message), { code }));
      assert.ok(e instanceof UsageError, code);
      assert.match((e as Error).message, fix);
    }
  });
});
