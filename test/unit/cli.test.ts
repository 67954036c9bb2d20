import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CommanderError } from 'commander';
import { buildProgram } from '../../src/cli/program.js';
import { defaults } from '../../src/config/resolve.js';

describe('cli: the program is built without running anything', () => {
  it('has every command, and typed flags with each default written once', () => {
    const program = buildProgram();
    assert.deepEqual(program.commands.map((c) => c.name()).sort(), ['detach', 'generate', 'init-es', 'loaddata', 'migrate', 'rollback', 'search', 'start-etl', 'status', 'targets', 'verify']);
    const etl = program.commands.find((c) => c.name() === 'start-etl')!;
    etl.action(() => undefined);
    program.exitOverride();
    program.parse(['node', 'movies', 'start-etl', '--batch', '250'], { from: 'node' });
    assert.deepEqual({ batch: etl.opts().batch, concurrency: etl.opts().concurrency }, { batch: 250, concurrency: defaults.concurrency });
  });

  it('a bad number is a commander usage error naming the flag', () => {
    const program = buildProgram();
    for (const c of program.commands) c.exitOverride().configureOutput({ writeErr: () => undefined });
    assert.throws(
      () => program.parse(['node', 'movies', 'start-etl', '--batch', 'ten'], { from: 'node' }),
      (e: unknown) => e instanceof CommanderError && /--batch must be a whole number from 1 to 10,000/.test(e.message),
    );
  });
});
