import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { root } from '../helpers/env.js';
import { ENGINES } from '../helpers/engines.js';
import { CAPTURES } from '../helpers/captures.js';
import { assertIndexMatchesDatabase, indexedCatalogue, type Catalogue } from '../helpers/catalogue.js';
import { Random } from '../../src/django/random.js';

// CI default is short; MOVIES_SOAK_SECONDS=600 gives a longer soak.
const seconds = Number(process.env.MOVIES_SOAK_SECONDS ?? 20);
const seed = Number(process.env.MOVIES_SEED ?? Date.now() % 100_000);

for (const capture of CAPTURES)
for (const engine of ENGINES) {
  describe(`randomized convergence (seed ${seed}, ${seconds} s, ${engine.name}, ${capture.mode})`, () => {
    let c: Catalogue;
    before(async () => {
      c = await indexedCatalogue({
        capture: capture.mode,
        databaseUrl: capture.databaseUrl,
        engineUrl: engine.url,
        mapping: engine.mapping,
        films: 500,
        seed,
        index: `movies_conv_${engine.name}_${capture.mode}_${process.pid}`,
      });
    });
    after(async () => c?.cleanup());

    it('index equals the database after concurrent writers, repeated runs and SIGKILLs', async () => {
      const rnd = new Random(seed);
      const writer = spawn(process.execPath, ['--import', 'tsx', `${root}test/helpers/writer.ts`, c.url, String(seed), String(seconds), '2'], {
        cwd: root,
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let commits = '';
      writer.stdout.on('data', (d) => (commits += d));
      const writerDone = new Promise<number | null>((resolve) => writer.on('close', resolve));
      let runs = 0;
      let kills = 0;
      let writing = true;
      void writerDone.then(() => (writing = false));
      while (writing) {
        const run = runCli(['start-etl', '--batch', String(rnd.int(5, 60)), '--concurrency', String(rnd.int(1, 3))], c.env);
        if (rnd.next() < 0.4) {
          await new Promise((r) => setTimeout(r, rnd.int(50, 600)));
          run.kill('SIGKILL');
          kills++;
        }
        const r = await run;
        runs++;
        assert.ok(r.signal === 'SIGKILL' || r.code === 0, `seed ${seed}: run failed: ${r.stderr}`);
      }
      assert.equal(await writerDone, 0, `seed ${seed}: writer failed`);
      const final = await runCli(['--json', 'start-etl'], c.env);
      assert.equal(final.code, 0, `seed ${seed}: ${final.stderr}`);
      console.log(`convergence ${engine.name} seed=${seed}: ${commits.trim()} writer commits, ${runs} runs, ${kills} killed`);
      assert.ok(Number(commits) > 10, 'the writer did write');
      await assertIndexMatchesDatabase(c, `seed ${seed}:`);
    });
  });
}
