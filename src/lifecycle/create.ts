import { engineFailure } from '../engine/errors.js';
import { EngineHttpError, type IndexBody, type SearchEngine } from '../engine/types.js';
import { UnsupportedError } from '../core/errors.js';
import { withHashMapping } from '../indexes/content-hash.js';

const MISSING_ANALYSIS = /(stemmer|unknown (filter|tokenizer|analyzer) type|failed to find (filter|tokenizer|analyzer))/i;

/** Creates a concrete index; a mapping the engine refuses is named, with the way out when a module is missing. */
export async function createPhysical(o: { engine: SearchEngine; mappingPath: string }, index: string, body: IndexBody): Promise<void> {
  try {
    // Every index carries the content hash that `movies verify` reads (src/indexes/content-hash.ts).
    await o.engine.createIndex(index, { ...body, mappings: withHashMapping(body.mappings) });
  } catch (err) {
    if (!(err instanceof EngineHttpError)) throw err;
    if (err.statusCode !== undefined && MISSING_ANALYSIS.test(err.message)) {
      throw new UnsupportedError(
        `the ${o.engine.kind} server at version ${o.engine.version} lacks the analysis module the mapping ` +
          `${o.mappingPath} needs (${err.message}). Install analysis-common/stemmer support, or pass a mapping ` +
          `without stemmers: --mapping nostem`,
      );
    }
    throw engineFailure(err, `creating index "${index}" from ${o.mappingPath}`);
  }
}
