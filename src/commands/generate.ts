import { createWriteStream } from 'node:fs';
import { finished } from 'node:stream/promises';
import { writeFixture, type GenerateCounts } from '../fixtures/generate.js';

export interface GenerateCommandOptions {
  films: number;
  seed: number;
  /** Default: stdout. */
  out?: string;
}

export async function generate(o: GenerateCommandOptions): Promise<GenerateCounts & { out: string }> {
  const stream = o.out ? createWriteStream(o.out) : process.stdout;
  const counts = await writeFixture({ films: o.films, seed: o.seed }, stream);
  if (o.out) {
    stream.end();
    await finished(stream);
  }
  return { ...counts, out: o.out ?? '-' };
}
