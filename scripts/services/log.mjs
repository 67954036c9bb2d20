// How the services scripts talk: one prefix, warnings, and errors that point at a log file.
import path from 'node:path';

/** A path relative to the working directory when it lies below it (shorter messages). */
export function rel(p) {
  const r = path.relative(process.cwd(), p);
  return r && !r.startsWith('..') ? r : p;
}

export function log(msg) {
  console.log(`[services] ${msg}`);
}

export function warn(msg) {
  console.warn(`[services] WARNING: ${msg}`);
}

/** A failure to report without a stack trace, with the log file that explains it. */
export class ServiceError extends Error {
  constructor(message, logFile) {
    super(message);
    this.logFile = logFile;
  }
}
