import { Command, Option } from 'commander';
import { defaults, parsePositiveInt } from './config.js';
import { Context, type GlobalFlags } from './context.js';
import { exitWith } from './exit.js';
import { ConnectionError } from './errors.js';
import { wrapPgErrors } from './db/errors.js';
import { wrapEngineErrors } from './engine/errors.js';
import { migrate } from './commands/migrate.js';
import { loaddata } from './commands/loaddata.js';
import { initEs } from './commands/init-es.js';
import { startEtl } from './commands/start-etl.js';
import { status } from './commands/status.js';
import { generate } from './commands/generate.js';
import { search } from './commands/search.js';
import * as render from './render.js';

const program = new Command('movies')
  .description('Keep an Elasticsearch/OpenSearch movie index exactly in step with a PostgreSQL catalogue')
  .version('0.1.0')
  .option('--database-url <url>', 'PostgreSQL URL (env DATABASE_URL)')
  .option('--es-url <url>', `search engine URL (env ELASTICSEARCH_URL, default ${defaults.esUrl})`)
  .addOption(new Option('--engine <kind>', 'engine client (env MOVIES_ENGINE)').choices(['auto', 'elasticsearch', 'opensearch']))
  .option('--index <name>', `index name (env MOVIES_INDEX, default ${defaults.index})`)
  .option('--max-retry-time <seconds>', `retry budget for outages (env MOVIES_MAX_RETRY_TIME, default ${defaults.maxRetryTime})`)
  .option('--json', 'print the result as JSON on stdout')
  .option('--quiet', 'no progress or log lines on stderr')
  .option('--debug', 'show stack traces')
  .showHelpAfterError()
  .exitOverride();

/** Aborted by the first SIGINT/SIGTERM; a second one terminates at once (default handler). */
function stopSignal(): AbortSignal {
  const controller = new AbortController();
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => controller.abort(sig));
  return controller.signal;
}

/** Runs a command with a fresh Context and always closes its clients. */
function action<A extends unknown[]>(fn: (ctx: Context, ...args: A) => Promise<void>) {
  return async (...args: A) => {
    const ctx = new Context(program.opts<GlobalFlags>());
    try {
      await wrapPgErrors(() => wrapEngineErrors(() => fn(ctx, ...args)));
    } finally {
      await ctx.close();
    }
  };
}

program
  .command('migrate')
  .description('create or upgrade the content schema and its change-capture triggers')
  .action(
    action(async (ctx) => {
      const r = await migrate({ db: ctx.db() });
      ctx.out.result(r, render.migrate(r));
    }),
  );

program
  .command('loaddata')
  .description('load Django fixture files (JSON arrays of {model, pk, fields}) in one transaction')
  .argument('<files...>', 'fixture files')
  .action(
    action(async (ctx, files: string[]) => {
      const r = await loaddata({
        db: ctx.db(),
        files,
        progress: (n) => ctx.out.progress(`loaded ${n.toLocaleString('en')} objects`),
      });
      ctx.out.result(r, render.loaddata(r));
    }),
  );

program
  .command('init-es')
  .description('recreate the index from a mapping and make every film pending')
  .option('--mapping <file>', 'index settings + mappings JSON (default mappings/movies.json)')
  .option('--wait', 'wait for a running start-etl instead of exiting')
  .action(
    action(async (ctx, opts: { mapping?: string; wait?: boolean }) => {
      const r = await initEs({
        db: ctx.db(),
        engine: await ctx.engine(),
        databaseUrl: ctx.config.databaseUrl,
        index: ctx.config.index,
        mappingPath: opts.mapping,
        wait: opts.wait,
        maxRetryTimeMs: ctx.config.maxRetryTimeMs,
      });
      ctx.out.result(r, render.initEs(r));
    }),
  );

program
  .command('start-etl')
  .description('index every pending film (changed, added or deleted) until none is left')
  .option('--batch <n>', 'films per page and per bulk request', '500')
  .option('--concurrency <n>', 'bulk requests in flight', '2')
  .option('--wait', 'wait for a running start-etl instead of exiting')
  .action(
    action(async (ctx, opts: { batch: string; concurrency: string; wait?: boolean }) => {
      const r = await startEtl({
        db: ctx.db(),
        engine: await ctx.engine(),
        databaseUrl: ctx.config.databaseUrl,
        index: ctx.config.index,
        batchSize: parsePositiveInt('--batch', opts.batch, 500),
        concurrency: parsePositiveInt('--concurrency', opts.concurrency, 2),
        maxRetryTimeMs: ctx.config.maxRetryTimeMs,
        wait: opts.wait,
        signal: stopSignal(),
        log: (m) => ctx.out.warn(m),
        progress: (r) =>
          ctx.out.progress(`indexed ${(r.indexed + r.deleted).toLocaleString('en')} / ${r.pending.toLocaleString('en')} films`),
      });
      ctx.out.result(r, render.startEtl(r));
    }),
  );

program
  .command('status')
  .description('pending films, pending deletes, the last run, and documents next to films')
  .action(
    action(async (ctx) => {
      let engineError: string | undefined;
      const engine = await ctx.engine().catch((err: Error) => {
        engineError = err.message;
        return null;
      });
      const r = await status({ db: ctx.db(), engine, engineError, index: ctx.config.index });
      ctx.out.result(r, render.status(r));
      // Printed first, so monitoring gets the database side; the exit code still says "down".
      if (engineError) throw new ConnectionError(engineError);
    }),
  );

program
  .command('search')
  .description('run one full-text search over titles, descriptions and people')
  .argument('<query>', 'words to search for')
  .option('--size <n>', 'hits to show', '5')
  .action(
    action(async (ctx, query: string, opts: { size: string }) => {
      const r = await search({ engine: await ctx.engine(), index: ctx.config.index, query, size: parsePositiveInt('--size', opts.size, 5) });
      ctx.out.result(r, render.search(r));
    }),
  );

program
  .command('generate')
  .description('write a deterministic synthetic fixture in Django format (for demos and benchmarks)')
  .requiredOption('--films <n>', 'number of films')
  .option('--seed <n>', 'random seed', '1')
  .option('--out <file>', 'output file (default stdout)')
  .action(
    action(async (ctx, opts: { films: string; seed: string; out?: string }) => {
      const r = await generate({
        films: parsePositiveInt('--films', opts.films, 1),
        seed: parsePositiveInt('--seed', opts.seed, 1),
        out: opts.out,
      });
      if (opts.out) ctx.out.result(r, render.generate(r));
    }),
  );

export async function main(argv = process.argv): Promise<void> {
  try {
    await program.parseAsync(argv);
  } catch (err) {
    exitWith(err, program.opts<GlobalFlags>().debug ?? argv.includes('--debug'));
  }
}

await main();
