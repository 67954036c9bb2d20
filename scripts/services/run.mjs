// Running a command to completion (as opposed to starting a server: processes.mjs).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { ROOT } from './config.mjs';

/**
 * Run a command to completion. Output goes to `logFile` (appended) when given,
 * otherwise it is captured and returned.
 */
export function run(cmd, args, { env, cwd, logFile, input, timeoutMs } = {}) {
  return new Promise((resolve) => {
    let out;
    let stdio = ['pipe', 'pipe', 'pipe'];
    if (logFile) {
      out = fs.openSync(logFile, 'a');
      fs.writeSync(out, `\n$ ${cmd} ${args.join(' ')}\n`);
      stdio = ['pipe', out, out];
    }
    let stdout = '';
    let stderr = '';
    let child;
    try {
      child = spawn(cmd, args, { env: env ?? process.env, cwd: cwd ?? ROOT, stdio });
    } catch (err) {
      if (out !== undefined) fs.closeSync(out);
      resolve({ code: 127, stdout, stderr: String(err) });
      return;
    }
    let timer;
    if (timeoutMs) timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout?.on('data', (d) => (stdout += d));
    child.stderr?.on('data', (d) => (stderr += d));
    child.on('error', (err) => {
      stderr += String(err);
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      if (out !== undefined) fs.closeSync(out);
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
    if (input !== undefined) child.stdin.end(input);
    else child.stdin?.end();
  });
}
