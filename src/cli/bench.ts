/**
 * `sockshard bench <name>`, in a clone of the repository: runs the benchmark scripts in `bench/` (one per
 * thing measured: ring, http, udp, ...) in a child process through tsx, as `npm run bench:<name>` does;
 * each prints its own table and writes bench/results/<name>.json. With no name it runs bench/all.ts
 * (`npm run bench`: every benchmark one at a time, then the report), or, where that runner is absent, every
 * script in turn. (`sockshard bench ./app.mjs`, which measures a user's handler, is handler-bench.ts.)
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { PACKAGE_ROOT } from '../package-root.js';

const BENCH_DIR = new URL('bench/', PACKAGE_ROOT);
/** bench/all.ts runs the others and writes the report: it is not a benchmark of its own. */
const ALL_RUNNER = 'all';
/** The order `sockshard bench` runs them in: the cheap, fundamental ones first; others follow by name. */
const PREFERRED_ORDER = ['ring', 'http', 'udp', 'icmp', 'offload'];

export interface BenchFlags {
  readonly quick?: boolean;
  readonly runs?: number;
}

/** The benchmarks present: `bench/<name>.ts`. */
export function benchNames(benchDir: URL = BENCH_DIR): string[] {
  if (!existsSync(benchDir)) return [];
  const names = readdirSync(benchDir)
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'))
    .map((file) => file.slice(0, -'.ts'.length))
    .filter((name) => name !== ALL_RUNNER);
  const rank = (name: string) => {
    const index = PREFERRED_ORDER.indexOf(name);
    return index === -1 ? PREFERRED_ORDER.length : index;
  };
  return names.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

/**
 * Runs `name` (or every benchmark, one after another) and resolves with the exit code: 0 when all passed,
 * else the first failure's code. `extra` goes to each script as is (after `--` on the command line).
 */
export async function runBench(
  name: string | undefined,
  flags: BenchFlags,
  extra: readonly string[],
  benchDir: URL = BENCH_DIR,
): Promise<number> {
  const available = benchNames(benchDir);
  if (available.length === 0) {
    console.error(
      "sockshard: name your HTTP handler module (sockshard bench ./app.mjs); the repository's own " +
        'benchmarks run from a clone of it',
    );
    return 1;
  }
  if (name !== undefined && !available.includes(name)) {
    console.error(`sockshard: unknown benchmark '${name}'; choose one of: ${available.join(', ')}`);
    return 1;
  }
  let tsxCli: string;
  try {
    tsxCli = fileURLToPath(import.meta.resolve('tsx/cli'));
  } catch {
    console.error('sockshard: benchmarks need tsx, a dev dependency: run `npm ci` first');
    return 1;
  }
  const args = [
    ...(flags.quick === true ? ['--quick'] : []),
    ...(flags.runs === undefined ? [] : ['--runs', String(flags.runs)]),
    ...extra,
  ];
  const script = (bench: string) => fileURLToPath(new URL(`${bench}.ts`, benchDir));
  if (name === undefined && existsSync(script(ALL_RUNNER))) {
    return runChild(process.execPath, [tsxCli, script(ALL_RUNNER), ...args]);
  }
  let failed = 0;
  for (const bench of name === undefined ? available : [name]) {
    console.log(`\n== bench/${bench}.ts ${args.join(' ')}`.trimEnd());
    const code = await runChild(process.execPath, [tsxCli, script(bench), ...args]);
    if (code !== 0) {
      console.error(`sockshard: bench/${bench}.ts exited with ${code}`);
      if (failed === 0) failed = code;
    }
  }
  return failed;
}

/** Runs a child with our terminal; a SIGINT/SIGTERM sent to us alone is passed on, and we wait for it. */
async function runChild(command: string, args: readonly string[]): Promise<number> {
  const child = spawn(command, args, { cwd: fileURLToPath(PACKAGE_ROOT), stdio: 'inherit' });
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  try {
    const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
    return code ?? 128 + (signal === null ? 0 : os.constants.signals[signal]);
  } finally {
    process.off('SIGINT', forward);
    process.off('SIGTERM', forward);
  }
}
