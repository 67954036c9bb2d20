import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { confirm } from '../../src/cli/prompt.js';
import { InterruptedError } from '../../src/core/errors.js';

const io = () => ({ input: new PassThrough(), output: new PassThrough() });

describe('confirm', () => {
  it('only y or yes is a yes', async () => {
    for (const [answer, want] of [['y', true], ['YES', true], [' y ', true], ['n', false], ['', false], ['yep', false]] as const) {
      const s = io();
      const asked = confirm('Drop? ', undefined, s);
      s.input.write(`${answer}\n`);
      assert.equal(await asked, want, JSON.stringify(answer));
      assert.equal(String(s.output.read()), 'Drop? ');
    }
  });
  it('end of input and no answer in time are a no', async () => {
    const s = io();
    const asked = confirm('Drop? ', undefined, s);
    s.input.end();
    assert.equal(await asked, false);
    assert.equal(await confirm('Drop? ', undefined, io(), 20), false);
  });
  it('the stop signal ends the question as an interruption', async () => {
    const stop = new AbortController();
    const asked = confirm('Drop? ', stop.signal, io());
    stop.abort('SIGINT');
    await assert.rejects(asked, InterruptedError);
  });
});
