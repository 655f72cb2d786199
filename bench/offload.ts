/**
 * Offload benchmark: an HTTP app where 10% of requests need about 5 ms of CPU. With the work inline, a
 * heavy request stalls every light request queued behind it on its shard; with `context.offload()` the
 * work runs in piscina threads and the shard keeps answering. Reports light p50/p99, heavy p99 and total
 * requests per second for both, side by side.
 *
 *   npm run bench:offload [-- --quick] [-- --runs N]
 *
 * Fairness: the contenders are the same engine (2 shards) and the same app code; offload adds a pool of
 * 2 threads (one per shard) on the same 2 cores, at the default niceIncrement (5: the shards' event loops
 * get the CPU first) and at 0 (the pool competes with them as an equal). Server and load generator
 * (plain node:http clients, closed loop) each run in their own process; contenders take turns within each
 * run. Writes bench/results/offload.json with `light_p99_offload_vs_inline` and
 * `throughput_offload_vs_inline` (and the same for niceIncrement 0).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { benchArgs, percentile, printTable, type Series, series, si, writeResults } from './lib/report.js';
import { ITERATIONS_ENV, work } from './offload/work.js';

const args = benchArgs(3, 2);
const SHARDS = 2;
const THREADS = 2;
const CONNECTIONS = 32;
const SECONDS = args.quick ? 3 : 10;
const TARGET_MS = 5;
const tsx = fileURLToPath(new URL('../node_modules/tsx/dist/cli.mjs', import.meta.url));
const here = (file: string) => fileURLToPath(new URL(`./offload/${file}`, import.meta.url));

/** Iterations of the work function that take about TARGET_MS on this machine, now. */
function calibrate(): number {
  let iterations = 100;
  for (;;) {
    const started = performance.now();
    work(iterations);
    const ms = performance.now() - started;
    if (ms > 20) return Math.max(1, Math.round((iterations * TARGET_MS) / ms));
    iterations *= 2;
  }
}

const iterations = calibrate();
const env = { ...process.env, [ITERATIONS_ENV]: String(iterations) };

const MODES = ['inline', 'offload', 'offload-nice0'] as const;
type Mode = (typeof MODES)[number];

async function startServer(mode: Mode): Promise<{ child: ChildProcess; port: number }> {
  const argv = [here('server.ts'), mode === 'inline' ? 'inline' : 'offload', String(SHARDS), String(THREADS)];
  if (mode === 'offload-nice0') argv.push('0');
  const child = spawn(process.execPath, [tsx, ...argv], {
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [line] = (await once(child.stdout!, 'data')) as [Buffer];
  return { child, port: Number(line.toString().trim()) };
}

interface LoadResult {
  light: number[];
  heavy: number[];
  errors: number;
  perSecond: number;
}

function load(port: number, seconds: number): LoadResult {
  const out = execFileSync(
    process.execPath,
    [tsx, here('load.ts'), String(port), String(CONNECTIONS), String(seconds)],
    {
      timeout: (seconds + 30) * 1_000,
      maxBuffer: 256 << 20,
    },
  );
  return JSON.parse(out.toString()) as LoadResult;
}

const figures: Record<string, Record<string, number[]>> = Object.fromEntries(MODES.map((mode) => [mode, {}]));
const push = (mode: string, key: string, value: number) => {
  const list = figures[mode]![key] ?? [];
  list.push(value);
  figures[mode]![key] = list;
};
for (let run = 1; run <= args.runs; run++) {
  process.stdout.write(`run ${run}/${args.runs}:`);
  for (const mode of run % 2 === 1 ? MODES : [...MODES].reverse()) {
    const { child, port } = await startServer(mode);
    try {
      load(port, 1); // warm-up
      const result = load(port, SECONDS);
      const light = Float64Array.from(result.light).sort();
      const heavy = Float64Array.from(result.heavy).sort();
      push(mode, 'lightP50', percentile(light, 50));
      push(mode, 'lightP99', percentile(light, 99));
      push(mode, 'heavyP99', percentile(heavy, 99));
      push(mode, 'perSecond', result.perSecond);
      push(mode, 'errors', result.errors);
    } finally {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
    process.stdout.write(` ${mode}`);
  }
  process.stdout.write('\n');
}

const results = Object.fromEntries(
  MODES.map((mode) => [
    mode,
    Object.fromEntries(Object.entries(figures[mode]!).map(([key, runs]) => [key, series(runs)])) as Record<
      string,
      Series
    >,
  ]),
);
const m = (mode: string, key: string) => results[mode]![key]!.median;
const ratios = {
  light_p99_offload_vs_inline: m('offload', 'lightP99') / m('inline', 'lightP99'),
  light_p50_offload_vs_inline: m('offload', 'lightP50') / m('inline', 'lightP50'),
  throughput_offload_vs_inline: m('offload', 'perSecond') / m('inline', 'perSecond'),
  light_p99_offload_nice0_vs_inline: m('offload-nice0', 'lightP99') / m('inline', 'lightP99'),
  throughput_offload_nice0_vs_inline: m('offload-nice0', 'perSecond') / m('inline', 'perSecond'),
};
printTable(
  `10% of requests burn ~${TARGET_MS} ms of CPU (${iterations} SHA-256 rounds); ${SHARDS} shards, ${CONNECTIONS} connections, median of ${args.runs} runs of ${SECONDS} s`,
  MODES.map((mode) => ({
    contender: {
      inline: 'work inline (in the shard)',
      offload: `context.offload() (${THREADS} piscina threads, niceIncrement 5)`,
      'offload-nice0': `context.offload() (${THREADS} piscina threads, niceIncrement 0)`,
    }[mode],
    'req/s': si(m(mode, 'perSecond')),
    'light p50 ms': m(mode, 'lightP50').toFixed(2),
    'light p99 ms': m(mode, 'lightP99').toFixed(2),
    'heavy p99 ms': m(mode, 'heavyP99').toFixed(2),
    errors: m(mode, 'errors'),
  })),
);
printTable(
  'ratios (offload / inline)',
  Object.entries(ratios).map(([name, value]) => ({ name, value: value.toFixed(2) })),
);
const file = writeResults('offload', {
  quick: args.quick,
  runs: args.runs,
  seconds: SECONDS,
  shards: SHARDS,
  threads: THREADS,
  connections: CONNECTIONS,
  workIterations: iterations,
  targetMs: TARGET_MS,
  results,
  ratios,
});
console.log(`\nwrote ${file}`);
