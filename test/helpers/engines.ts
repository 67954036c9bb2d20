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
 * Every engine the pipeline suites run on, each as its own describe with its own database and
 * index. The test Elasticsearch is a bare archive without the analysis-common module, so it
 * gets the stemmer-free mappings; OpenSearch ships that module and takes the default ones.
 */
export const ENGINES: readonly Engine[] = [
  { name: 'opensearch', url: services.OPENSEARCH_URL, mapping: undefined, mappingFile: `${root}mappings/movies.json` },
  { name: 'elasticsearch', url: services.ELASTICSEARCH_URL, mapping: 'nostem', mappingFile: `${root}mappings/movies.nostem.json` },
];
