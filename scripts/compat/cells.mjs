// The compatibility matrix: which servers and which Node.js each cell runs the suites on.
// Not the whole product of the axes: each engine version with Node 20 and PostgreSQL 15, then
// each other PostgreSQL and Node.js version with one engine (OpenSearch 3), and the cluster.
// The everyday servers (Elasticsearch 9, OpenSearch 3, PostgreSQL 15, Node 20) have no cell:
// `npm test` runs these same suites on both of them just before (7 min of CI saved).

/** The engine- and database-facing integration suites: each loops over MOVIES_TEST_ENGINES. */
const ENGINE_SUITES = [
  'test/integration/cli.test.ts', // CLI parity on the original fixture, and on a generated catalogue
  'test/integration/capture.test.ts', // change capture
  'test/integration/outage.test.ts', // outages through fault proxies
  'test/integration/convergence.test.ts', // convergence under concurrent writers
  'test/integration/lifecycle.test.ts', // aliases, rebuilds, rollback, kills
  'test/integration/watch.test.ts', // the continuous mode
  'test/integration/verify.test.ts', // verify: sorted doc-value pages, real-time mget, content hash mapping
  'test/integration/capture-race.test.ts', // rename against new link: row locks of each PostgreSQL
  'test/integration/logical-capture.test.ts', // the slot's lifecycle and mode switches (cells with MOVIES_TEST_CAPTURES logical)
];
const CLUSTER_SUITES = ['test/cluster/failover.test.ts'];
const CLUSTER = ['opensearch-node-1', 'opensearch-node-2', 'opensearch-node-3'];

/**
 * Each cell: `servers` to start (names of scripts/services/instances.mjs), the `node` major, the
 * `database` and `engine` server it tests, `engines` for MOVIES_TEST_ENGINES, and its suites.
 */
export const CELLS = [
  { id: 'es-8', about: 'Elasticsearch 8', engine: 'elasticsearch-8', engines: 'elasticsearch', database: 'postgres', node: 20 },
  { id: 'os-2', about: 'OpenSearch 2', engine: 'opensearch-2', engines: 'opensearch', database: 'postgres', node: 20 },
  { id: 'pg-18', about: 'PostgreSQL 18', engine: 'opensearch', engines: 'opensearch', database: 'postgres-18', node: 20 },
  { id: 'node-22', about: 'Node.js 22', engine: 'opensearch', engines: 'opensearch', database: 'postgres', node: 22 },
  { id: 'node-24', about: 'Node.js 24', engine: 'opensearch', engines: 'opensearch', database: 'postgres', node: 24 },
  {
    id: 'cluster',
    about: 'OpenSearch 3, three nodes',
    engine: CLUSTER[0],
    engines: 'opensearch',
    database: 'postgres',
    node: 20,
    cluster: CLUSTER,
    suites: CLUSTER_SUITES,
  },
].map((c) => ({ suites: ENGINE_SUITES, cluster: [], ...c }));

/** The servers a cell needs: the everyday set (the suites read both engine URLs) and its own. */
export function serversOf(cell) {
  return [...new Set(['postgres', 'elasticsearch', 'opensearch', cell.database, cell.engine, ...cell.cluster])];
}

/** The environment of a cell's test run, from the URLs of its servers. */
export function envOf(cell, urls) {
  const engineUrl = urls[cell.engine];
  return {
    DATABASE_URL: urls[cell.database],
    ELASTICSEARCH_URL: cell.engines === 'elasticsearch' ? engineUrl : urls.elasticsearch,
    OPENSEARCH_URL: cell.engines === 'opensearch' ? engineUrl : urls.opensearch,
    MOVIES_TEST_ENGINES: cell.engines,
    // Capture depends on the database, not on the engine or Node.js: the PostgreSQL cell runs both
    // modes on its own server (ours all have wal_level = logical), the others triggers only.
    ...(cell.database === 'postgres'
      ? { MOVIES_TEST_CAPTURES: 'triggers' }
      : { MOVIES_TEST_CAPTURES: 'triggers,logical', DATABASE_URL_LOGICAL: urls[cell.database] }),
    ...(cell.cluster.length ? { MOVIES_TEST_CLUSTER: cell.cluster.join(',') } : {}),
  };
}
