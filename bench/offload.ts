/**
 * Offload benchmark: an HTTP app where 10% of requests need ~5 ms of CPU. With the work inline a heavy
 * request stalls the light ones queued behind it on its shard; with `context.offload()` it runs in piscina
 * threads and the shard keeps answering. Light p50/p99, heavy p99, requests/s and CPU per request by
 * thread (coordinator, shards, pool), with the pool at its default niceIncrement (5) and at 0.
 *
 *   npm run bench:offload [-- --quick] [-- --runs N]
 *
 * Fairness: the same engine (2 shards) and the same app code; offload adds 2 pool threads on the same
 * cores. Server and load generator (node:http clients, closed loop) run in their own processes; the modes
 * take turns, their order reversed every other run.
 */
import { benchArgs } from './lib/args.js';
import { Child, nodeCommand, startServer } from './lib/children.js';
import { nanosPerCall, perOperation } from './lib/cpu.js';
import { ReportBuilder } from './lib/report.js';
import { ITERATIONS_ENV, work } from './offload/work.js';

const args = benchArgs({ usage: 'npm run bench:offload -- [options]', runs: 3 });
const SHARDS = 2;
const THREADS = 2;
const CONNECTIONS = 32;
const SECONDS = 10;
const WARMUP_SECONDS = 1;
const TARGET_MS = 5;

/** Iterations of the work that take TARGET_MS of CPU here (CPU time: other processes do not count). */
function calibrate(): number {
  return Math.max(1, Math.round((100 * TARGET_MS * 1e6) / nanosPerCall(() => work(100)).cpu));
}

const MODES = [
  { name: 'inline', description: 'the work inline, on the shard', config: { mode: 'inline' } },
  {
    name: 'offload',
    description: `context.offload(): ${THREADS} piscina threads, niceIncrement 5 (the default)`,
    config: { mode: 'offload' },
  },
  {
    name: 'offload-nice0',
    description: `context.offload(): ${THREADS} piscina threads, niceIncrement 0`,
    config: { mode: 'offload', nice: 0 },
  },
] as const;

interface Result {
  readonly requests: number;
  readonly seconds: number;
  readonly errors: number;
  readonly lightP50: number;
  readonly lightP99: number;
  readonly heavyP99: number;
  readonly cpuSeconds: number;
}

const iterations = calibrate();
const report = new ReportBuilder(
  'offload',
  'Offload: light requests beside CPU-heavy ones, inline and offloaded',
  args,
)
  .settings({
    shards: SHARDS,
    poolThreads: THREADS,
    connections: CONNECTIONS,
    seconds: SECONDS,
    warmupSeconds: WARMUP_SECONDS,
    workIterations: iterations,
    targetMs: TARGET_MS,
  })
  .note(
    `10% of requests burn ~${TARGET_MS} ms of CPU (${iterations} SHA-256 rounds); ${CONNECTIONS} keep-alive connections in a closed loop; a fresh server per measurement, warmed up for ${WARMUP_SECONDS} s with the same load.`,
  )
  .scenario({
    name: 'mixed',
    title: '90% light requests, 10% heavy',
    unit: 'req/s',
    operation: 'request',
    baseline: 'inline',
  });

for (let run = 1; run <= args.runs; run++) {
  process.stdout.write(`run ${run}/${args.runs}:`);
  for (const mode of run % 2 === 1 ? MODES : [...MODES].reverse()) {
    const config = JSON.stringify({ ...mode.config, shards: SHARDS, threads: THREADS });
    const server = await startServer(
      mode.name,
      nodeCommand(new URL('./offload/server.ts', import.meta.url), [config]),
      {
        env: { ...process.env, [ITERATIONS_ENV]: String(iterations) },
        mainRole: 'coordinator',
      },
    );
    const job = {
      port: server.port,
      connections: CONNECTIONS,
      seconds: SECONDS,
      warmupSeconds: WARMUP_SECONDS,
    };
    const generator = new Child(
      'load',
      nodeCommand(new URL('./offload/load.ts', import.meta.url), [JSON.stringify(job)]),
    );
    try {
      await generator.json(60_000); // the warm-up is over
      const meter = server.meter();
      meter.start();
      const result = await generator.json<Result>((SECONDS + 60) * 1000);
      const { byRole } = meter.stop();
      const { lightP50, lightP99, heavyP99, errors } = result;
      report.add('mixed', mode.name, mode.description, {
        value: result.requests / result.seconds,
        metrics: { light_p50_ms: lightP50, light_p99_ms: lightP99, heavy_p99_ms: heavyP99, errors },
        cpu: perOperation({ ...byRole, generator: result.cpuSeconds }, result.requests),
        notes: errors > 0 ? [`PROBLEM: ${errors} failed requests in a run`] : [],
      });
    } finally {
      await generator.stop();
      await server.stop();
    }
    process.stdout.write(` ${mode.name}`);
  }
  process.stdout.write('\n');
}

report
  .ratio('light_p99_offload_vs_inline', 'mixed metrics.light_p99_ms: offload / inline', {
    atMost: 0.5,
    key: true,
  })
  .ratio('light_p50_offload_vs_inline', 'mixed metrics.light_p50_ms: offload / inline')
  .ratio('throughput_offload_vs_inline', 'mixed: offload / inline', { atLeast: 1, key: true })
  .ratio('cpu_offload_vs_inline', 'mixed cpu.server: offload / inline', { key: true })
  .ratio('light_p99_offload_nice0_vs_inline', 'mixed metrics.light_p99_ms: offload-nice0 / inline')
  .ratio('throughput_offload_nice0_vs_inline', 'mixed: offload-nice0 / inline')
  .write();
