/**
 * Shared benchmark plumbing: arguments, statistics, the printed table and the JSON written to
 * bench/results/. Every benchmark runs its baselines in the same run and reports ratios, because these
 * machines are shared and noisy: absolute figures move between runs, ratios much less.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';

export interface BenchArgs {
  readonly quick: boolean;
  readonly runs: number;
}

/** `--quick` and `--runs N` (default: `defaultRuns`, or `quickRuns` with --quick). */
export function benchArgs(defaultRuns = 5, quickRuns = defaultRuns): BenchArgs {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      runs: { type: 'string' },
    },
    strict: true,
  });
  const quick = values.quick ?? false;
  const runs = values.runs !== undefined ? Number(values.runs) : quick ? quickRuns : defaultRuns;
  if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs must be a positive integer');
  return { quick, runs };
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Percentile `p` (0..100) of an already sorted array, nearest rank. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

/** The figures of one contender over several runs. */
export interface Series {
  readonly runs: number[];
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

export function series(runs: number[]): Series {
  return { runs, median: median(runs), min: Math.min(...runs), max: Math.max(...runs) };
}

export function machine() {
  const cpus = os.cpus();
  return {
    node: process.version,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    cpu: cpus[0]?.model ?? 'unknown',
    cores: os.availableParallelism(),
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
  };
}

export function writeResults(name: string, data: object): string {
  const dir = new URL('../results/', import.meta.url);
  mkdirSync(dir, { recursive: true });
  const file = new URL(`${name}.json`, dir);
  const body = { benchmark: name, date: new Date().toISOString(), machine: machine(), ...data };
  writeFileSync(file, `${JSON.stringify(body, null, 2)}\n`);
  return file.pathname;
}

/** Formats a number for a table: 3 significant digits with k/M/G suffixes. */
export function si(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  for (const [limit, suffix] of [
    [1e9, 'G'],
    [1e6, 'M'],
    [1e3, 'k'],
  ] as const) {
    if (abs >= limit) return `${(value / limit).toPrecision(3)}${suffix}`;
  }
  return value.toPrecision(3);
}

export function printTable(title: string, rows: Record<string, string | number>[]): void {
  console.log(`\n${title}`);
  console.table(rows);
}
