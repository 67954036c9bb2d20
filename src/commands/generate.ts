import { open, realpath, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { UsageError } from '../core/errors.js';
import { writeFixture, type GenerateCounts } from '../django/generate.js';

export interface GenerateCommandOptions {
  films: number;
  seed: number;
  /** Default: stdout. */
  out?: string;
}

/** The system's reason without the path it names, which may be our temporary file's. */
const cannotWrite = (out: string, err: unknown) =>
  new UsageError(`cannot write --out ${out}: ${String((err as Error).message).replace(/, \w+( '.*')?$/, '')}`, { cause: err });

export async function generate(o: GenerateCommandOptions): Promise<GenerateCounts & { out: string }> {
  if (!o.out) return { ...(await toStdout((stream) => writeFixture({ films: o.films, seed: o.seed }, stream))), out: '-' };
  return { ...(await writeFile(o.out, (stream) => writeFixture({ films: o.films, seed: o.seed }, stream))), out: o.out };
}

/*
 * A regular file is written beside itself under a temporary name and renamed into place only when
 * complete, so a failure (a bad path, a full disk) leaves no partial fixture, and an older file
 * stays whole until then. A device or pipe (/dev/stdout, a FIFO) is written directly.
 */
async function writeFile<T>(out: string, write: (stream: Writable) => Promise<T>): Promise<T> {
  // Through a symlink to the file it names, as a plain open would.
  const target = await realpath(out).catch(() => resolve(out));
  const existing = await stat(target).catch(() => undefined);
  if (existing?.isDirectory()) throw cannotWrite(out, new Error('it is a directory'));
  const direct = existing !== undefined && !existing.isFile();
  const temp = direct ? target : join(dirname(target), `.${basename(target)}.${process.pid}.partial`);
  let handle: FileHandle;
  try {
    handle = await open(temp, direct ? 'w' : 'wx');
  } catch (err) {
    throw cannotWrite(out, err);
  }
  const stream = handle.createWriteStream();
  // Write errors reach us through writeFixture's drain wait or `finished`; this listener only keeps
  // an error emitted between the two from being an uncaught exception.
  stream.on('error', () => undefined);
  try {
    // A replaced file keeps its permissions.
    if (existing && !direct) await handle.chmod(existing.mode & 0o7777);
    const result = await write(stream);
    stream.end();
    await finished(stream);
    if (!direct) await rename(temp, target);
    return result;
  } catch (err) {
    stream.destroy();
    if (!direct) await rm(temp, { force: true });
    throw cannotWrite(out, err);
  }
}

const none: GenerateCounts = { films: 0, genres: 0, persons: 0, genreLinks: 0, personLinks: 0, objects: 0 };

/**
 * A reader that stops early (`movies generate | head`) closes the pipe: that ends the output,
 * as for any Unix filter, and is not an error (it surfaced as an EPIPE "PostgreSQL unavailable").
 */
async function toStdout(write: (stream: Writable) => Promise<GenerateCounts>): Promise<GenerateCounts> {
  let closed = false;
  const onError = (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') closed = true;
  };
  process.stdout.on('error', onError);
  try {
    return await write(process.stdout);
  } catch (err) {
    if (closed || (err as NodeJS.ErrnoException).code === 'EPIPE') return none;
    throw err;
  } finally {
    process.stdout.off('error', onError);
  }
}
