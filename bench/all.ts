/**
 * One benchmark command: runs every benchmark script (ring, http, udp, icmp, offload), one at a time, each
 * in a child process of its own (`tsx bench/<name>.ts`), then builds bench/results/REPORT.md, SUMMARY.md
 * (the block for README.md) and one <name>.svg chart per benchmark from the JSON they wrote.
 *
 *   npm run bench [-- --quick] [-- --runs N] [-- --only ring,udp] [-- --report-only [--results DIR]]
 *
 * One at a time because these machines have 2 cores: two benchmarks side by side would measure each other.
 * A script that does not exist yet is skipped, not an error; a script that fails does not stop the others
 * (its section keeps its previous JSON, flagged as such) but makes the command exit 1.
 * Progress is listr2's: a live task list on a terminal, plain timestamped lines where there is none (CI).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Listr, PRESET_TIMER, PRESET_TIMESTAMP } from 'listr2';
import { BENCHMARKS, type BenchmarkName, isBenchmarkName } from './report/adapters.js';
import { type BuildResult, buildReport } from './report/build.js';
import { runScript } from './report/run-script.js';

const USAGE = `usage: npm run bench -- [--quick] [--runs N] [--only NAME[,NAME]] [--report-only] [--results DIR]

  --quick          forwarded to every benchmark: short runs, a smoke test
  --runs N         forwarded to every benchmark: runs per contender (each has its own default)
  --only NAMES     run only these, comma-separated: ${BENCHMARKS.join(', ')}
  --report-only    run nothing; rebuild REPORT.md, SUMMARY.md and the charts from the JSON there is
  --results DIR    with --report-only: read the JSON from DIR and write the report there
                   (default bench/results; the benchmarks themselves always write to bench/results)`;

const benchDir = fileURLToPath(new URL('./', import.meta.url));
const repoRoot = fileURLToPath(new URL('../', import.meta.url));

interface Options {
  readonly quick: boolean;
  readonly runs: number | null;
  readonly only: readonly BenchmarkName[];
  readonly reportOnly: boolean;
  readonly resultsDir: string;
}

function options(): Options {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      runs: { type: 'string' },
      only: { type: 'string' },
      'report-only': { type: 'boolean', default: false },
      results: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const runs = values.runs === undefined ? null : Number(values.runs);
  if (runs !== null && (!Number.isInteger(runs) || runs < 1)) {
    throw new Error(`--runs must be a positive integer, got ${values.runs}`);
  }
  const only = values.only === undefined ? [...BENCHMARKS] : values.only.split(',').map((s) => s.trim());
  const unknown = only.filter((name) => !isBenchmarkName(name));
  if (unknown.length > 0 || only.length === 0) {
    throw new Error(`--only: unknown benchmark ${unknown.join(', ')}; known: ${BENCHMARKS.join(', ')}`);
  }
  const reportOnly = values['report-only'];
  if (values.results !== undefined && !reportOnly) {
    throw new Error('--results needs --report-only: the benchmarks always write to bench/results/');
  }
  return {
    quick: values.quick,
    runs,
    // In the run order whatever order they were given in.
    only: BENCHMARKS.filter((name) => only.includes(name)),
    reportOnly,
    resultsDir: values.results ?? fileURLToPath(new URL('./results/', import.meta.url)),
  };
}

interface Context {
  failed: BenchmarkName[];
  /** Every failed step's error: listr2 with `exitOnError: false` goes on after one and keeps none. */
  errors: Error[];
  report?: BuildResult;
}

let opts: Options;
try {
  opts = options();
} catch (error) {
  console.error(`${(error as Error).message}\n\n${USAGE}`);
  process.exit(2);
}
const forwarded = [
  ...(opts.quick ? ['--quick'] : []),
  ...(opts.runs === null ? [] : ['--runs', String(opts.runs)]),
];
const interactive = process.stdout.isTTY === true;

const benchmarkTasks = opts.reportOnly
  ? []
  : opts.only.map((name) => ({
      title: `bench/${name}.ts ${forwarded.join(' ')}`.trimEnd(),
      skip: () =>
        existsSync(`${benchDir}${name}.ts`) ? false : `${name}: not present (no bench/${name}.ts yet)`,
      task: async (ctx: Context, task: { output: string }) => {
        try {
          await runScript(`bench/${name}.ts`, forwarded, {
            cwd: repoRoot,
            partialLines: interactive,
            onLine: (line) => {
              task.output = line;
            },
          });
        } catch (error) {
          ctx.failed.push(name);
          ctx.errors.push(error as Error);
          throw error;
        }
      },
      // The last line only: with partial lines it is the benchmark's progress line, growing in place.
      rendererOptions: { outputBar: true, persistentOutput: false },
    }));

const tasks = new Listr<Context, 'default', 'simple'>(
  [
    ...benchmarkTasks,
    {
      title: `report: ${opts.resultsDir}`,
      task: async (ctx, task) => {
        try {
          ctx.report = await buildReport({ resultsDir: opts.resultsDir, benchDir, failed: ctx.failed });
        } catch (error) {
          ctx.errors.push(error as Error);
          throw error;
        }
        for (const warning of ctx.report.warnings) task.output = `warning: ${warning}`;
        task.title = `report: ${ctx.report.written.length} files written in ${opts.resultsDir}`;
      },
      rendererOptions: { persistentOutput: true },
    },
  ],
  {
    concurrent: false,
    exitOnError: false,
    rendererOptions: { timer: PRESET_TIMER, collapseErrors: false },
    fallbackRendererOptions: { timer: PRESET_TIMER, timestamp: PRESET_TIMESTAMP },
  },
);

const ctx = await tasks.run({ failed: [], errors: [] });
if (ctx.report !== undefined) {
  for (const file of ctx.report.written) console.log(`wrote ${file}`);
}
if (ctx.errors.length > 0) {
  console.error(`\n${ctx.errors.length} step(s) failed:`);
  for (const error of ctx.errors) console.error(`- ${error.message}`);
  process.exitCode = 1;
}
