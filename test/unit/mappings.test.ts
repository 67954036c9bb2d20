import assert from 'node:assert/strict';
import { readFileSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../../src/core/errors.js';
import { mappingNames as namesOf, resolveMappingPath as resolveFor } from '../../src/indexes/mapping.js';
import { filmsIndex } from '../../src/indexes/films/index.js';

const resolveMappingPath = (v: string | undefined) => resolveFor(filmsIndex, v);
const mappingNames = namesOf(filmsIndex);

const shipped = (file: string) => fileURLToPath(new URL(`../../mappings/${file}`, import.meta.url));
const usesStemmer = (path: string) => readFileSync(path, 'utf8').includes('"stemmer"');

describe('resolveMappingPath', () => {
  it('no value and the names default/movies give the shipped default mapping (with stemmers)', () => {
    for (const v of [undefined, 'default', 'movies']) {
      const p = resolveMappingPath(v);
      assert.equal(realpathSync(p), realpathSync(shipped('movies.json')), String(v));
      assert.ok(usesStemmer(p));
    }
  });

  it('nostem gives the shipped mapping without stemmers, wherever the process runs', () => {
    const cwd = process.cwd();
    process.chdir(tmpdir());
    try {
      const p = resolveMappingPath('nostem');
      assert.equal(realpathSync(p), realpathSync(shipped('movies.nostem.json')));
      assert.equal(usesStemmer(p), false);
    } finally {
      process.chdir(cwd);
    }
  });

  it('an existing file is used as given', () => {
    const p = shipped('movies.nostem.json');
    assert.equal(resolveMappingPath(p), p);
  });

  it('anything else is a usage error that lists the names', () => {
    for (const v of ['nostemm', '/nonexistent/mapping.json', tmpdir()]) {
      assert.throws(
        () => resolveMappingPath(v),
        (err: unknown) => err instanceof UsageError && mappingNames.every((n) => err.message.includes(n)) && err.message.includes(v),
        v,
      );
    }
  });
});
