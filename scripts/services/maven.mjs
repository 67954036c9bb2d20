// Maven, which fetches every server the scripts start, run one at a time.
import { ServiceError } from './log.mjs';
import { run } from './run.mjs';

/**
 * Maven runs are serialised (two cold downloads must not race in ~/.m2) in the order in which
 * slots were taken: `up` takes its slot synchronously, so Elasticsearch (a single zip, quick)
 * goes before OpenSearch (~120 jars). A slot must be released when its Maven step is done or
 * not needed, so that the next one can proceed.
 */
let mavenChain = Promise.resolve();
function mavenSlot() {
  const prev = mavenChain;
  let release;
  const done = new Promise((r) => (release = r));
  mavenChain = prev.then(() => done);
  let released = false;
  const slot = {
    async run(fn) {
      await prev;
      try {
        return await fn();
      } finally {
        slot.release();
      }
    },
    release() {
      if (!released) {
        released = true;
        release();
      }
    },
  };
  return slot;
}

/** Runs `fn(slot)` holding a Maven slot, taken synchronously so that Maven runs keep their order. */
export async function withMavenSlot(fn) {
  const slot = mavenSlot();
  try {
    return await fn(slot);
  } finally {
    slot.release();
  }
}

export async function mvn(args, logFile) {
  const res = await run('mvn', ['-B', '--no-transfer-progress', ...args], { logFile, env: { ...process.env } });
  if (res.code === 127) throw new ServiceError('`mvn` (Apache Maven) is not installed or not on PATH');
  return res.code === 0;
}
