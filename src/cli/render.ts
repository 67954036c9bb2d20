import type { MigrateResult } from '../commands/migrate.js';
import type { DetachPlan, DetachResult } from '../commands/detach.js';
import type { InitEsResult } from '../commands/init-es.js';
import type { StatusResult } from '../commands/status.js';
import type { CaptureStatus } from '../capture/status.js';
import type { SearchResult } from '../commands/search.js';
import type { LoadResult } from '../django/load.js';
import type { EtlResult } from '../etl/run.js';
import type { StartEtlResult } from '../commands/start-etl.js';
import type { WatchResult } from '../watch/loop.js';
import type { RollbackCommandResult } from '../commands/rollback.js';
import type { TargetListing } from '../commands/targets.js';
import type { GenerateCounts } from '../django/generate.js';
import type { ClusterHealth } from '../engine/types.js';
import type { VerifyResult } from '../commands/verify.js';

/** Human-readable results for stdout; --json prints the objects themselves. */
const n = (x: number) => x.toLocaleString('en');

export const migrate = (r: MigrateResult) =>
  [
    `catalogue: schema ${r.catalogue.schema}, layout ${r.catalogue.layout} (${r.created ? 'tables created' : 'existing tables adopted'})`,
    ...(r.relocated ? ['moved movies\' tables of an earlier version from schema content to schema movies'] : []),
    r.applied.length ? `applied ${r.applied.join(', ')}` : `already up to date (${r.current.length} migrations)`,
    r.capture.previous && r.capture.previous !== r.capture.mode
      ? `change capture switched from ${r.capture.previous} to ${r.capture.mode} (no change made meanwhile is lost)`
      : `change capture: ${r.capture.mode}${r.capture.mode === 'logical' ? ' (publication and replication slot; no trigger)' : ''}`,
  ].join('\n');

export const detachPlan = (p: DetachPlan) =>
  !p.schema && p.triggers.length === 0 && p.replication.length === 0
    ? 'movies has nothing in this database'
    : [
        'movies detach removes everything movies added to this database, and nothing else:',
        `  ${p.triggers.length} capture triggers: ${p.triggers.join(', ') || 'none'}`,
        ...(p.replication.length ? [`  logical capture: ${p.replication.join(', ')}`] : []),
        `  schema ${'movies'} and all in it (targets, pending changes, runs, rejections, capture functions): ${p.objects.length} objects`,
        'The catalogue\'s tables and rows, and the indexes on the engines, stay as they are; `movies migrate` attaches again (every document is then rebuilt by init-es).',
      ].join('\n');

export const detached = (r: DetachResult) =>
  r.triggers.length === 0 && !r.schema && r.replication.length === 0
    ? 'nothing to remove: movies has nothing in this database'
    : `detached: removed ${r.triggers.length} triggers${r.replication.length ? `, ${r.replication.join(', ')}` : ''} and schema movies (${r.objects.length} objects)`;

export const loaddata = (r: LoadResult) =>
  [
    `loaded ${n(r.objects)} objects in ${r.seconds.toFixed(2)} s`,
    ...Object.entries(r.counts).map(([model, c]) => `  ${model.padEnd(22)} ${n(c)}`),
    ...(r.analyzed.tables.length ? [`planner statistics refreshed (ANALYZE) on ${r.analyzed.tables.length} tables in ${r.analyzed.seconds.toFixed(2)} s`] : []),
    ...(r.analyzed.failed ? [`planner statistics not all refreshed (the load is committed): ${r.analyzed.failed}`] : []),
    r.fastPath
      ? 'foreign keys and change capture checked set-based (triggers off)'
      : `foreign keys and change capture by the triggers: ${r.fallback ?? 'fast path not taken'}`,
  ].join('\n');

/** What an index's documents are called in results: films for the film index, else its name. */
const plural = (name: string) => (name === 'movies' ? 'films' : name);

export const initEs = (r: InitEsResult) =>
  r.indexes
    .map(
      (i) =>
        `"${i.index}" now points to ${i.physical} (was: ${i.previous ?? 'none'}), built on ${i.engine} ${i.version} from ${i.mapping}: ` +
        `indexed ${n(i.indexed)} ${plural(i.name)} in ${i.seconds.toFixed(2)} s, ${i.passes} catch-up passes` +
        (i.rejected ? `; ${n(i.rejected)} rejected and recorded (see status)` : '') +
        (i.pending ? `; ${n(i.pending)} changed since and are pending for start-etl` : '') +
        (i.dropped.length ? `; deleted ${i.dropped.join(', ')}` : ''),
    )
    .join('\n');

const oneRun = (name: string, r: EtlResult) =>
  `indexed ${n(r.indexed)} ${plural(name)}, deleted ${n(r.deleted)}, in ${n(r.batches)} batches, ` +
  `${r.seconds.toFixed(2)} s (${n(Math.round(r.docsPerSecond))} docs/s)` +
  (r.requeued ? `; ${n(r.requeued)} changed again during the run and stay pending` : '') +
  (r.rejected ? `; ${n(r.rejected)} rejected and recorded (see status)` : '');

export const startEtl = (r: StartEtlResult) => {
  const runs = Object.entries(r.indexes);
  if (runs.length === 1) return oneRun(runs[0]![0], runs[0]![1]);
  return runs.map(([name, x]) => `${x.index}: ${oneRun(name, x)}`).join('\n');
};

function clusterLine(c: ClusterHealth): string {
  const unassigned = c.unassignedShards ? `, ${n(c.unassignedShards)} unassigned shard${c.unassignedShards === 1 ? '' : 's'}` : '';
  return `${c.status}, ${n(c.nodes)} node${c.nodes === 1 ? '' : 's'} (${n(c.dataNodes)} data)${unassigned}`;
}

/** A duration for people: 42 s, 17 min, 5.2 h, 3.1 days. */
export function age(seconds: number): string {
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
  if (seconds < 3_600) return `${Math.floor(seconds / 60)} min`;
  if (seconds < 86_400) return `${(seconds / 3_600).toFixed(1)} h`;
  return `${(seconds / 86_400).toFixed(1)} days`;
}

export function status(r: StatusResult): string {
  const last = r.lastRun
    ? `${r.lastRun.outcome}, started ${r.lastRun.startedAt}, finished ${r.lastRun.finishedAt ?? '-'}, ` +
      `indexed ${n(r.lastRun.indexed)}, deleted ${n(r.lastRun.deleted)}, rejected ${n(r.lastRun.rejected)}` +
      `${r.lastRun.error ? `\n  error: ${r.lastRun.error}` : ''}`
    : 'never';
  return [
    `index            ${r.index} on ${r.engine.kind} ${r.engine.version}, alias of ${r.physical ?? '(no target on this cluster)'}`,
    `${plural(r.name).padEnd(17)}${n(r.films)}`,
    `documents        ${r.engine.documents === null ? `unknown (${r.engine.error ?? ''})` : n(r.engine.documents)}`,
    `cluster          ${r.engine.cluster ? clusterLine(r.engine.cluster) : 'unknown'}`,
    `pending          ${n(r.pending)} (of which deletes: ${n(r.pendingDeletes)})${r.pending ? `, oldest change ${age(r.oldestChangeSeconds)} old` : ''}`,
    `rejected         ${n(r.rejected)}${r.rejected ? ' (not indexed until they change; start-etl --skip-invalid)' : ''}`,
    ...r.rejectedFilms.map((f) => `  film ${f.id} v${f.version}: ${f.reason} (field "${f.field}", rule "${f.rule}", ${f.rejectedAt})`),
    `running now      ${r.running ? 'yes' : 'no'}`,
    `last run         ${last}`,
    `health           ${r.health}`,
    ...(r.targets.length > 1
      ? [
          'targets          every index this database keeps in step for it:',
          ...r.targets.map(
            (t) =>
              `  ${t.id}: ${t.alias ?? '(unclaimed)'} -> ${t.physical ?? '-'} (${t.state}) on ${t.engine ?? '?'} ${t.url ?? ''}: ` +
              `${n(t.pending)} pending${t.pending ? ` (oldest change ${age(t.oldestChangeSeconds)} old)` : ''}, ` +
              `last run ${t.lastRun ? `${t.lastRun.outcome} ${t.lastRun.finishedAt ?? ''}`.trim() : 'never'}`,
          ),
        ]
      : []),
  ].join('\n');
}

export const search = (r: SearchResult) =>
  [
    `${n(r.total)} ${plural(r.in)} match "${r.query}"`,
    ...r.hits.map((h) =>
      h.title !== undefined
        ? `  ${h.title}  (${h.imdb_rating ?? '-'}; ${(h.genre ?? []).join(', ')})`
        : `  ${h.full_name ?? h.name ?? h.id}${h.films ? `  (${h.films.length} films)` : ''}`,
    ),
  ].join('\n');

export const generate = (r: GenerateCounts & { out: string }) =>
  `wrote ${n(r.objects)} objects to ${r.out}: ${n(r.films)} films, ${n(r.genres)} genres, ${n(r.persons)} persons, ` +
  `${n(r.genreLinks)} genre links, ${n(r.personLinks)} person links`;

export const rollback = (r: RollbackCommandResult) =>
  r.indexes
    .map(
      (i) =>
        `"${i.alias}" points to ${i.physical} again (was: ${i.previous ?? 'none'}, now kept) in ${i.seconds.toFixed(2)} s; ` +
        `${n(i.pending)} changes since are pending for start-etl`,
    )
    .join('\n');

const targetLine = (t: TargetListing) =>
  `${String(t.id).padStart(4)}  ${t.indexName.padEnd(8)} ${(t.alias ?? '(unclaimed)').padEnd(20)} ${t.state.padEnd(9)} ` +
  `${(t.physical ?? '-').padEnd(34)} ${n(t.pending).padStart(9)} pending  ${t.engine ?? ''} ${t.url ?? ''} cluster ${t.cluster ?? '-'}`;

export const targets = (ts: TargetListing[]) =>
  ts.length === 0
    ? 'no targets yet: `movies init-es` registers one per index on the cluster it builds'
    : [`  id  index    alias                state     index behind the alias               pending`, ...ts.map(targetLine)].join('\n');

/** What the index behind a dropped target becomes, by its state. */
const afterDrop = (t: TargetListing) =>
  ({
    live: `the alias "${t.alias ?? t.indexName}" goes on serving ${t.physical ?? 'it'}, no longer kept in step, until \`movies init-es\` builds a new target on that cluster`,
    kept: '`movies rollback` can no longer go back to it (nor does init-es delete it any more)',
    building: 'no alias points to it (a build an init-es left; init-es no longer deletes it)',
  })[t.state];

/** What `targets drop` is about to do, shown before it asks. */
export const dropPlan = (t: TargetListing) =>
  `target ${t.id}: ${t.alias ?? t.indexName} -> ${t.physical ?? '-'} (${t.state}) on ${t.engine ?? '?'} ${t.url ?? 'an unclaimed cluster'}\n` +
  `dropping it deletes its ${n(t.pending)} pending documents and stops queueing changes for it; ` +
  `its index stays on the engine as it is, and ${afterDrop(t)}`;

export const dropped = (t: TargetListing) =>
  `dropped target ${t.id} (${t.alias ?? t.indexName} on ${t.url ?? 'an unclaimed cluster'}) and its ${n(t.pending)} pending documents; ` +
  `its index ${t.physical ?? ''} was left on the engine; ${afterDrop(t)}`;

export const watch = (r: WatchResult) =>
  `watched for ${r.seconds.toFixed(1)} s: ${n(r.cycles)} cycles with changes, indexed ${n(r.indexed)}, deleted ${n(r.deleted)}, ` +
  `${n(r.failures)} failed cycles`;

export const verify = (r: VerifyResult) =>
  Object.values(r.indexes)
    .map((i) => {
      const kinds = (['missing', 'stale', 'orphan'] as const).filter((k) => i[k].count > 0);
      const lines = [
        `${i.index} (${i.physical}, target ${i.target}): ` +
          (i.drift === 0 ? 'in step with the database' : `${n(i.drift)} drifted`) +
          `; compared ${n(i.database)} ${plural(i.name)} with ${n(i.indexed)} documents in ${i.seconds.toFixed(2)} s`,
        ...kinds.map((k) => `  ${k.padEnd(8)} ${n(i[k].count)}: ${i[k].sample.join(', ')}${i[k].count > i[k].sample.length ? ', …' : ''}`),
      ];
      // Three figures, none a part of another: writers queue and a run marks while verify reads.
      if (i.pending || i.queued || i.queuedAtEnd) {
        lines.push(
          `  pending  ${n(i.pending)} differ from the database but are pending for start-etl (not drift); ` +
            `${n(i.queued)} were pending when verify began, ${n(i.queuedAtEnd)} when it ended`,
        );
      }
      if (i.changing) lines.push(`  changing ${n(i.changing)} changed under every reading (a writer and a run at work; not drift)`);
      if (i.unhashed) lines.push(`  ${n(i.unhashed)} of the stale carry no content hash (indexed by an earlier version): \`movies init-es\` rebuilds the index with them, without downtime`);
      if (i.unlisted) lines.push(`  ${n(i.unlisted)} more documents without an id field than verify lists at once: run it again after the repair`);
      if (i.repaired) lines.push(`  repaired ${n(i.repaired.enqueued)} drifted made pending for start-etl` + (i.repaired.deleted ? `, ${n(i.repaired.deleted)} deleted (no uuid)` : ''));
      return lines.join('\n');
    })
    .join('\n');

const MB = 1024 * 1024;

export const captureStatus = (c: CaptureStatus) =>
  !c.slot
    ? `capture: ${c.mode}`
    : `capture: ${c.mode}, replication slot ${c.slot.name}: ` +
      (c.slot.lost
        ? 'LOST (dropped or invalidated by the server): run `movies init-es` to rebuild every index'
        : `${(c.slot.retainedBytes / MB).toFixed(1)} MB of WAL kept for it, ${(c.slot.lagBytes / MB).toFixed(1)} MB not yet read` +
          (c.slot.lagSeconds > 0 ? `, last read ${c.slot.lagSeconds.toFixed(0)} s ago` : ''));
