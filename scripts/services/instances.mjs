// Every server the scripts can run, by name: the everyday set (`npm run services:up`) and the
// compatibility servers (`npm run test:compat`), which run on ports of their own so that the
// everyday ones keep running beside them.
import { envPort } from './config.mjs';
import { ES_8_VERSION, elasticsearch } from './elasticsearch.mjs';
import { OS_2_VERSION, opensearch } from './opensearch.mjs';
import { postgresFromMachine, postgresFromNpm } from './postgres-npm.mjs';
import * as machinePostgres from './postgres.mjs';

/** The everyday servers, each with the variable of .services/env that its URL goes to. */
export const EVERYDAY = {
  postgres: { name: 'postgres', kind: 'postgres', envKey: 'DATABASE_URL', ...machinePostgres },
  // The machine's server has wal_level = replica: `--capture logical` is tested on one of ours.
  'postgres-logical': { envKey: 'DATABASE_URL_LOGICAL', ...postgresFromMachine({ name: 'postgres-logical', port: envPort('PG_LOGICAL_PORT', 5434) }) },
  elasticsearch: {
    envKey: 'ELASTICSEARCH_URL',
    ...elasticsearch({ port: envPort('ES_PORT', 9200), version: process.env.ES_VERSION || undefined }),
  },
  opensearch: {
    envKey: 'OPENSEARCH_URL',
    ...opensearch({ port: envPort('OS_PORT', 9201), version: process.env.OS_RUNNER_VERSION || undefined }),
  },
};

/** The OpenSearch cluster of the compatibility matrix: three nodes, one process each. */
const CLUSTER_SIZE = 3;
const clusterNode = (i) => opensearch({
  name: `opensearch-node-${i}`,
  port: 9230 + i,
  portEnv: 'the compatibility cluster',
  cluster: {
    name: 'movies-compat-cluster',
    size: CLUSTER_SIZE,
    // Transport ports outside 9300-9400, where single-node servers pick theirs.
    transportPort: 9450 + i,
    seedPorts: [1, 2, 3].map((n) => 9450 + n),
    managers: [1, 2, 3].map((n) => `opensearch-node-${n}`),
  },
});

export const COMPAT = {
  'elasticsearch-8': elasticsearch({ name: 'elasticsearch-8', port: 9220, portEnv: 'the compatibility matrix', version: ES_8_VERSION, java: 17 }),
  'opensearch-2': opensearch({ name: 'opensearch-2', port: 9221, portEnv: 'the compatibility matrix', version: OS_2_VERSION, java: 17 }),
  'postgres-18': postgresFromNpm({ name: 'postgres-18', port: 5433 }),
  'opensearch-node-1': clusterNode(1),
  'opensearch-node-2': clusterNode(2),
  'opensearch-node-3': clusterNode(3),
};

export const ALL = { ...EVERYDAY, ...COMPAT };

/** Short names accepted on the command line, each for one or more servers. */
export const GROUPS = {
  pg: ['postgres'],
  logical: ['postgres-logical'],
  postgresql: ['postgres'],
  es: ['elasticsearch'],
  os: ['opensearch'],
  'opensearch-cluster': ['opensearch-node-1', 'opensearch-node-2', 'opensearch-node-3'],
};
