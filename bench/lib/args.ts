/**
 * The one argument parser of every benchmark script (node:util parseArgs): `--quick`, `--runs N`, `--out
 * DIR` and `--help` everywhere, plus a script's own options. Quick means shorter, not different: the
 * same warm-up and the same duration per measurement, fewer runs.
 */
import { fileURLToPath } from 'node:url';
import { type ParseArgsConfig, parseArgs } from 'node:util';

export interface BenchArgs {
  readonly quick: boolean;
  /** Runs per contender; contenders take turns within each run (A B C A B C). */
  readonly runs: number;
  /** Where the report is written (default bench/results/). */
  readonly out: string;
  /** The script's own options, as parseArgs read them. */
  readonly values: Readonly<Record<string, string | boolean | undefined>>;
}

export interface ArgsSpec {
  readonly usage: string;
  /** Runs of a full run; a quick run makes `quickRuns` (default 1). */
  readonly runs: number;
  readonly quickRuns?: number;
  readonly options?: NonNullable<ParseArgsConfig['options']>;
}

export const RESULTS_DIR = fileURLToPath(new URL('../results/', import.meta.url));

const COMMON = `
  --quick        fewer runs (the same warm-up and duration per measurement)
  --runs N       runs per contender, contenders interleaved within each run
  --out DIR      write the report there (default bench/results/)`;

export function benchArgs(spec: ArgsSpec, argv = process.argv.slice(2)): BenchArgs {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        quick: { type: 'boolean', default: false },
        runs: { type: 'string' },
        out: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
        ...spec.options,
      },
      strict: true,
    });
  } catch (error) {
    usageError(spec, (error as Error).message);
  }
  // No option is declared `multiple`, so no value is an array.
  const values = parsed.values as BenchArgs['values'];
  if (values.help === true) {
    console.log(`${spec.usage}\n${COMMON}`);
    process.exit(0);
  }
  const quick = values.quick === true;
  const runs = numberArg(values, 'runs', quick ? (spec.quickRuns ?? 1) : spec.runs, spec);
  if (!Number.isInteger(runs) || runs < 1) usageError(spec, `--runs must be a positive integer`);
  const out = typeof values.out === 'string' ? values.out : RESULTS_DIR;
  return { quick, runs, out, values };
}

/** A non-negative number option, or `fallback` when absent. */
export function numberArg(
  values: BenchArgs['values'],
  name: string,
  fallback: number,
  spec?: ArgsSpec,
): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const parsed = Number(raw);
  if (typeof raw !== 'string' || !Number.isFinite(parsed) || parsed < 0) {
    usageError(spec, `--${name} must be a non-negative number, got ${String(raw)}`);
  }
  return parsed;
}

function usageError(spec: ArgsSpec | undefined, message: string): never {
  console.error(`${message}${spec === undefined ? '' : `\n\n${spec.usage}\n${COMMON}`}`);
  process.exit(2);
}
