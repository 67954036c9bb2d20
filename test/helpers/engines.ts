import { root, serviceEnv } from './env.js';

/** One search engine the integration suites run against. */
export interface Engine {
  name: 'opensearch' | 'elasticsearch';
  url: string;
  /** What `init-es --mapping` gets; undefined means the default (stemming) mapping. */
  mapping: 'nostem' | undefined;
  /** The film mapping file that `mapping` names, for tests that derive a mapping of their own. */
  mappingFile: string;
}

const services = serviceEnv();

/**
 * The test Elasticsearch is a bare archive without the analysis-common module (Maven Central has
 * no build of that module for 8.x or 9.x: see COMPATIBILITY.md), so it gets the stemmer-free
 * mappings; OpenSearch ships that module and takes the default ones.
 */
const KNOWN: readonly Engine[] = [
  { name: 'opensearch', url: services.OPENSEARCH_URL, mapping: undefined, mappingFile: `${root}mappings/movies.json` },
  { name: 'elasticsearch', url: services.ELASTICSEARCH_URL, mapping: 'nostem', mappingFile: `${root}mappings/movies.nostem.json` },
];

/**
 * Every engine the pipeline suites run on, each as its own describe with its own database and
 * index. MOVIES_TEST_ENGINES (a comma-separated list of names) narrows them: a cell of the
 * compatibility matrix runs the suites on the one engine it is about.
 */
export const ENGINES: readonly Engine[] = selected(process.env.MOVIES_TEST_ENGINES);

function selected(list: string | undefined): readonly Engine[] {
  if (!list) return KNOWN;
  const names = list.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = names.filter((n) => !KNOWN.some((e) => e.name === n));
  if (unknown.length) throw new Error(`MOVIES_TEST_ENGINES names unknown engines: ${unknown.join(', ')}`);
  return KNOWN.filter((e) => names.includes(e.name));
}

/** The `init-es` arguments that choose the engine's mapping. */
export const mappingArgs = (engine: Engine): string[] => (engine.mapping ? ['--mapping', engine.mapping] : []);
