import { Command, Option } from 'commander';
import { captureChoice, defaults, integer, metricsHost, slotLagLimit, statusBound } from '../config/resolve.js';
import type { Config } from '../config/types.js';
import { VERSION } from '../core/version.js';
import { CAPTURE_NAMES } from '../config/types.js';
import { captureProblem, captureStatus } from '../capture/status.js';

import { Context, type GlobalFlags } from './context.js';
import { errorJson, exitAfterStop, exitWith } from './exit.js';
import { ConnectionError, UsageError } from '../core/errors.js';
import { stopSignal } from './stop.js';
import { wrapPgErrors } from '../db/errors.js';
import { wrapEngineErrors } from '../engine/errors.js';
import { migrate } from '../commands/migrate.js';
import { detach, detachPlan } from '../commands/detach.js';
import { loaddata } from '../commands/loaddata.js';
import { initEs } from '../commands/init-es.js';
import { startEtl } from '../commands/start-etl.js';
import { watch } from '../watch/loop.js';
import { rollback } from '../commands/rollback.js';
import { dropTargetById, listTargets, targetToDrop } from '../commands/targets.js';
import { confirm } from './prompt.js';
import { combinedProblem, combineStatus, status } from '../commands/status.js';
import { generate } from '../commands/generate.js';
import { search } from '../commands/search.js';
import { driftProblem, verify } from '../commands/verify.js';
import * as render from './render.js';
import * as json from './json.js';
import { commanderOutput } from './output.js';
import { mappingNames } from '../indexes/mapping.js';
import { filmsIndex } from '../indexes/films/index.js';
import { INDEX_NAMES, indexByName } from '../indexes/all.js';

// init-es fills the new index with the same pipeline as start-etl, with the same knobs.
const batchOption = () =>
  new Option('--batch <n>', 'documents per page and per bulk request').argParser(integer('--batch')).default(defaults.batch);
const concurrencyOption = () =>
  new Option('--concurrency <n>', 'bulk requests in flight').argParser(integer('--concurrency')).default(defaults.concurrency);

/** The engine a command talked to, as --json shows it (never a new wait: the command is done). */
const engineOf = (ctx: Context) => json.engineJson(ctx.connectedEngine() ?? null, ctx.config.engine.url);

/** The whole command line: `bin/movies` runs main(); tests and tools may build it without running it. */
export function buildProgram(): Command {
  const program = new Command('movies')
    .description('Keep an Elasticsearch/OpenSearch movie index exactly in step with a PostgreSQL catalogue')
    .version(VERSION)
    .option('--database-url <url>', 'PostgreSQL URL (env DATABASE_URL)')
    .option('--schema <name>', 'schema the catalogue lives in (env MOVIES_SCHEMA; default content)')
    .option('--catalogue <layout>', 'catalogue layout: movies, practicum or a layout file (env MOVIES_CATALOGUE; default movies)')
    .option('--es-url <url>', `search engine URL (env ELASTICSEARCH_URL, default ${defaults.esUrl})`)
    .addOption(new Option('--engine <kind>', 'engine client (env MOVIES_ENGINE)').choices(['auto', 'elasticsearch', 'opensearch']))
    .option('--only <names>', `the indexes to work on, comma-separated (env MOVIES_ONLY, default ${INDEX_NAMES.join(',')})`)
    .option('--index-prefix <p>', 'prefix of every index name (env MOVIES_INDEX_PREFIX)')
    .option('--index <name>', 'the film index\'s name (env MOVIES_INDEX, default: the prefix + movies)')
    .option('--max-retry-time <seconds>', `retry budget for outages (env MOVIES_MAX_RETRY_TIME, default ${defaults.maxRetryTime})`)
    .option(
      '--statement-timeout <seconds>',
      'bound on one SQL statement and one lock wait (env MOVIES_STATEMENT_TIMEOUT, default: --max-retry-time, within 10..120)',
    )
    .option('--json', 'print the result as JSON on stdout')
    .option('--quiet', 'no progress or log lines on stderr')
    .option('--debug', 'show stack traces')
    .configureOutput(commanderOutput())
    .exitOverride();

  /** Runs a command with a fresh Context and always closes its clients. */
  const action = <A extends unknown[]>(fn: (ctx: Context, ...args: A) => Promise<void>, adjust?: (c: Config, opts: Record<string, unknown>) => Config) => {
    return async (...args: A) => {
      const flags = program.opts<GlobalFlags>();
      // Commander passes the command's options, then the command, after the arguments.
      const opts = (args.at(-2) ?? {}) as Record<string, unknown>;
      const ctx = new Context(
        flags,
        stopSignal(() => ({ debug: flags.debug ?? false, json: flags.json ?? false })),
        process.env,
        adjust && ((c) => adjust(c, opts)),
      );
      try {
        await wrapPgErrors(() => wrapEngineErrors(() => fn(ctx, ...args)));
      } finally {
        await ctx.close();
      }
      if (ctx.retry.signal?.aborted) exitAfterStop();
    };
  };

  program
    .command('migrate')
    .description('attach to the catalogue (--schema, --catalogue): check its tables, or create them on an empty schema; add movies\' own objects and change capture')
    .option('--capture <mode>', `how changes are captured: ${CAPTURE_NAMES.join(' or ')} (env MOVIES_CAPTURE; default: as recorded, else triggers); giving the other mode switches without losing a change`)
    .action(
      action(async (ctx, opts: { capture?: string }) => {
        const r = await migrate({
          db: ctx.db(),
          databaseUrl: ctx.config.databaseUrl,
          timeouts: ctx.config.timeouts,
          catalogue: ctx.config.catalogue,
          names: ctx.config.names,
          capture: captureChoice(opts.capture),
        });
        ctx.out.result(r, render.migrate(r));
      }),
    );

  program
    .command('detach')
    .description('remove everything movies added to the database (capture triggers, schema movies); the catalogue and the engines\' indexes stay')
    .option('--yes', 'remove without asking (needed when stdin is not a terminal)')
    .action(
      action(async (ctx, opts: { yes?: boolean }) => {
        const plan = await detachPlan(ctx.db());
        if (!opts.yes && (plan.schema || plan.triggers.length > 0 || plan.replication.length > 0)) {
          ctx.out.info(render.detachPlan(plan));
          if (!process.stdin.isTTY) throw new UsageError('movies detach asks before it removes anything and stdin is not a terminal: pass --yes to remove the above');
          if (!(await confirm('Remove all of the above? [y/N] ', ctx.retry.signal))) {
            ctx.out.result({ ...plan, detached: false }, 'nothing was removed');
            return;
          }
        }
        const r = await detach(ctx.db());
        ctx.out.result(r, render.detached(r));
      }),
    );

  program
    .command('loaddata')
    .description('load Django fixture files (JSON arrays of {model, pk, fields}) in one transaction')
    .argument('<files...>', 'fixture files')
    .action(
      action(async (ctx, files: string[]) => {
        const r = await loaddata({
          db: await ctx.catalogueDb(),
          catalogue: ctx.config.catalogue,
          files,
          progress: (p) => ctx.out.progress(p),
        });
        ctx.out.result(json.loaddata(r), render.loaddata(r));
      }),
    );

  program
    .command('init-es')
    .description('build each index aside from its mapping, then move its alias to it in one atomic step (searches never stop)')
    .option('--mapping <name|file>', `a shipped mapping (${mappingNames(filmsIndex).join(', ')}) or, with one index, a settings + mappings JSON file (default: default)`)
    .option('--keep <n>', 'previous indexes to keep per alias for `movies rollback`', integer('--keep'), defaults.keep)
    .addOption(batchOption())
    .addOption(concurrencyOption())
    .option('--skip-invalid', 'leave out and record documents that are invalid or refused; index the rest')
    .option('--wait', 'wait for another init-es, or a start-etl writing to the alias, instead of exiting')
    .action(
      action(async (ctx, opts: { mapping?: string; keep: number; batch: number; concurrency: number; skipInvalid?: boolean; wait?: boolean }) => {
        const r = await initEs({
          ...(await ctx.servers()),
          mapping: opts.mapping,
          keep: opts.keep,
          batchSize: opts.batch,
          concurrency: opts.concurrency,
          skipInvalid: opts.skipInvalid,
          wait: opts.wait,
          progress: (p) => ctx.out.progress(p),
        });
        ctx.out.result(json.initEs(r, engineOf(ctx)), render.initEs(r));
      }),
    );

  program
    .command('rollback')
    .description("move each alias back to its previous index (kept by init-es); the next start-etl brings that index in step")
    .option('--wait', 'wait for a start-etl writing to the alias instead of exiting')
    .action(
      action(async (ctx, opts: { wait?: boolean }) => {
        const r = await rollback({
          ...(await ctx.servers()),
          wait: opts.wait,
        });
        ctx.out.result(json.rollback(r, engineOf(ctx), ctx.config.indexes), render.rollback(r));
      }),
    );

  const targets = program
    .command('targets')
    .description('list the targets this database keeps in step (engine cluster + index), with their pending documents')
    .action(
      action(async (ctx) => {
        const r = await listTargets(ctx.db());
        ctx.out.result(json.targets(r), render.targets(r));
      }),
    );
  targets
    .command('drop')
    .description('forget a target and its pending documents (its index on the engine is left as it is; a live alias goes on serving it, unmaintained)')
    .argument('<id>', 'the target id, from `movies targets`', integer('<id>'))
    .option('--yes', 'drop without asking (needed when stdin is not a terminal)')
    .action(
      action(async (ctx, id: number, opts: { yes?: boolean }) => {
        // Refused targets are refused before anyone is asked.
        const t = await targetToDrop(ctx.db(), id);
        if (!opts.yes) {
          if (!process.stdin.isTTY) throw new UsageError(`targets drop asks before it drops and stdin is not a terminal: pass --yes to drop target ${id}`);
          if (!(await confirm(`${render.dropPlan(t)}\nDrop target ${id}? [y/N] `, ctx.retry.signal))) {
            ctx.out.result(json.dropped(t, false), `target ${id} was not dropped`);
            return;
          }
        }
        const r = await dropTargetById(ctx.db(), id);
        ctx.out.result(json.dropped(r, true), render.dropped(r));
      }),
    );

  program
    .command('start-etl')
    .description('index every pending document (changed, added or deleted) of each index until none is left')
    .addOption(batchOption())
    .addOption(concurrencyOption())
    .option('--wait', 'wait for a running start-etl instead of exiting')
    .option('--skip-invalid', 'leave out and record films whose document is invalid or refused; index the rest')
    .option('--watch', 'keep running: index changes as they are committed (it looks at the queues), until SIGINT/SIGTERM')
    .option('--poll-interval <seconds>', 'with --watch: run a cycle at least this often, changes or not', integer('--poll-interval'), defaults.pollInterval)
    .option('--metrics-port <port>', 'with --watch: serve /metrics (Prometheus) and /healthz on this port', integer('--metrics-port'))
    .option('--metrics-host <host>', `with --watch: the address the metrics endpoint listens on; 0.0.0.0 for every interface (env MOVIES_METRICS_HOST, default ${defaults.metricsHost})`)
    .option('--max-lag <seconds>', 'with --watch: /healthz answers 503 when a change waits longer than this', integer('--max-lag'), defaults.maxLag)
    .option('--max-slot-lag <limit>', 'with --watch and logical capture: /healthz answers 503 when the slot keeps more WAL (e.g. 1GB) or was read longer ago than this (env MOVIES_MAX_SLOT_LAG)')
    .action(
      action(
        async (
          ctx,
          opts: { batch: number; concurrency: number; wait?: boolean; skipInvalid?: boolean; watch?: boolean; pollInterval: number; metricsPort?: number; metricsHost?: string; maxLag: number; maxSlotLag?: string },
        ) => {
          const knobs = {
            batchSize: opts.batch,
            concurrency: opts.concurrency,
            wait: opts.wait,
            skipInvalid: opts.skipInvalid,
          };
          if (opts.watch) {
            // Not ctx.servers(): the watch starts with either server down, and connects when it can.
            const r = await watch({
              ...knobs,
              db: ctx.db(),
              databaseUrl: ctx.config.databaseUrl,
              engineUrl: ctx.config.engine.url,
              timeouts: ctx.config.timeouts,
              indexes: ctx.config.indexes,
              retry: ctx.retry,
              capture: ctx.capture(),
              connect: { database: async () => void (await ctx.catalogueDb()), engine: (retry) => ctx.engine(retry) },
              engineKind: ctx.config.engine.engine,
              metricsHost: metricsHost(opts.metricsHost),
              pollIntervalMs: opts.pollInterval * 1000,
              maxLagSeconds: opts.maxLag,
              maxSlotLag: slotLagLimit(opts.maxSlotLag),
              metricsPort: opts.metricsPort,
              log: (m) => ctx.out.info(m),
            });
            ctx.out.result(json.watch(r, engineOf(ctx)), render.watch(r));
            return;
          }
          if (opts.metricsPort !== undefined || opts.metricsHost !== undefined) {
            throw new UsageError(`${opts.metricsPort !== undefined ? '--metrics-port' : '--metrics-host'} needs --watch (a one-shot run prints its figures with --json)`);
          }
          const r = await startEtl({
            ...(await ctx.servers()),
            ...knobs,
            progress: (p) => ctx.out.progress(p),
          });
          ctx.out.result(json.startEtl(r, engineOf(ctx)), render.startEtl(r));
        },
      ),
    );

  program
    .command('status')
    .description('pending films, rejected films, the last run, and documents next to films; the exit code is for monitoring')
    .option('--max-slot-lag <limit>', 'logical capture: exit 14 when the slot keeps more WAL (e.g. 1GB) or was last read longer ago (e.g. 15min) than this (env MOVIES_MAX_SLOT_LAG)')
    .option('--timeout <seconds>', `bound on waiting for each server, instead of --max-retry-time (env MOVIES_STATUS_TIMEOUT, default ${defaults.statusTimeout})`)
    .action(
      action(async (ctx, opts: { maxSlotLag?: string; timeout?: string }) => {
        const limit = slotLagLimit(opts.maxSlotLag);
        let engineError: string | undefined;
        // An unreachable engine is reported with the database side; a wrong URL is a usage error (2).
        const engine = await ctx.engine().catch((err: Error) => {
          if (!(err instanceof ConnectionError)) throw err;
          engineError = err.message;
          return null;
        });
        const results = [];
        for (const t of ctx.config.indexes) results.push(await status({ db: await ctx.catalogueDb(), engine, engineError, spec: t.spec, index: t.index }));
        const capture = await captureStatus(await ctx.catalogueDb());
        // The exit code says what is wrong (capture first: it concerns every index); the whole report is printed first, for monitoring,
        // with the error in it (--json: one document, the error object under `error`).
        const problem = captureProblem(capture, limit) ?? combinedProblem(results);
        const health = combineStatus(results).health;
        const value = json.status(results, health, capture, json.engineJson(engine, ctx.config.engine.url), engineError, ctx.config.indexes);
        ctx.out.result(
          problem ? { ...value, error: errorJson(problem, { inResult: true }) } : value,
          [...results.map(render.status), render.captureStatus(capture)].join('\n\n'),
        );
        if (problem) throw problem;
      }, (c, opts) => statusBound(c, opts.timeout as string | undefined, program.opts<GlobalFlags>())),
    );

  program
    .command('verify')
    .description('compare every document of each index with the database (ids and content hashes); the exit code says whether they differ')
    .option('--repair', 'make every drifted document pending (orphans as deletes), for the next start-etl')
    .option('--deep', 'compare whole documents too, not only their content hashes (catches edits in the engine that kept the hash; slower)')
    .option('--page <n>', 'ids and hashes per page read from each side', integer('--page'), defaults.verifyPage)
    .action(
      action(async (ctx, opts: { repair?: boolean; deep?: boolean; page: number }) => {
        const r = await verify({
          db: await ctx.catalogueDb(),
          engine: await ctx.engine(),
          engineUrl: ctx.config.engine.url,
          indexes: ctx.config.indexes,
          pageSize: opts.page,
          repair: opts.repair ?? false,
          deep: opts.deep,
          retry: ctx.retry,
          capture: ctx.capture(),
          progress: (p) => ctx.out.progress(p),
        });
        // Printed first, so monitoring gets the whole report (with the error in it); the exit code says whether there was drift.
        const problem = driftProblem(r);
        const value = json.verify(r, engineOf(ctx));
        ctx.out.result(problem ? { ...value, error: errorJson(problem, { inResult: true }) } : value, render.verify(r));
        if (problem) throw problem;
      }),
    );

  program
    .command('search')
    .description('run one full-text search over films (titles, descriptions, people), genres or persons')
    .argument('<query...>', 'words to search for (the rest of the line: no quotes needed)')
    .option('--size <n>', 'hits to show', integer('--size'), defaults.searchSize)
    .addOption(new Option('--in <index>', 'the index to search').choices(INDEX_NAMES).default(filmsIndex.name))
    .action(
      action(async (ctx, words: string[], opts: { size: number; in: string }) => {
        const query = words.join(' ');
        const spec = indexByName(opts.in)!;
        const index = spec === filmsIndex ? ctx.config.index : `${ctx.config.indexPrefix}${spec.name}`;
        const r = await search({ engine: await ctx.engine(), engineUrl: ctx.config.engine.url, spec, index, query, size: opts.size });
        ctx.out.result(json.search(r, engineOf(ctx), index), render.search(r));
      }),
    );

  program
    .command('generate')
    .description('write a deterministic synthetic fixture in Django format (for demos and benchmarks)')
    .requiredOption('--films <n>', 'number of films', integer('--films'))
    .option('--seed <n>', 'random seed', integer('--seed'), defaults.seed)
    .option('--out <file>', 'output file (default stdout)')
    .action(
      action(async (ctx, opts: { films: number; seed: number; out?: string }) => {
        const r = await generate({
          films: opts.films,
          seed: opts.seed,
          out: opts.out,
        });
        if (opts.out) ctx.out.result(r, render.generate(r));
      }),
    );

  usageHints(program, 'movies');
  return program;
}

/**
 * A usage error is commander's one line plus where the whole help is, never the help itself
 * (it was dozens of lines, each timestamped when piped). Set on every command once they all exist.
 */
function usageHints(command: Command, path: string): void {
  command.showHelpAfterError(`see \`${path} --help\``);
  for (const sub of command.commands) usageHints(sub, `${path} ${sub.name()}`);
}

/** Parses argv, runs the command, and exits through the one exit point on failure. */
export async function main(argv = process.argv): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    const flags = program.opts<GlobalFlags>();
    // A usage error may come before commander read the flags: then argv says.
    exitWith(err, { debug: flags.debug ?? argv.includes('--debug'), json: flags.json ?? argv.includes('--json') });
  }
}
