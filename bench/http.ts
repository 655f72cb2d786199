/**
 * HTTP benchmark: sockshard's `http` listener with N shards against `node:http` on one thread and
 * `node:cluster` with N workers (N = os.availableParallelism()), serving the same app (bench/http/app.ts):
 * keep-alive with 10 and 100 connections, connection churn (`Connection: close`) and a CPU-heavy handler
 * (~0.2 ms of native crypto per request: see bench/http/cpu-work.ts).
 * sockshard also runs with `balance: 'kernel'` (SO_REUSEPORT, no coordinator hop) and 'round-robin'.
 *
 *   npm run bench:http [-- --quick] [-- --runs N] [-- --duration S] [-- --warmup S] [-- --pin]
 *
 * Fairness: every server runs in a child process of its own, and so does the load generator (autocannon 8,
 * one process, the same settings and duration for every contender), so no two of them share an event loop.
 * They do share the machine's cores: the generator's cost is the same for everyone and the table shows the
 * CPU each side used. Contenders take turns within every scenario (the first one rotates each run) so that
 * a noisy moment hits all of them; figures are medians over the runs. Writes bench/results/http.json.
 */
import http from 'node:http';
import { createRequire } from 'node:module';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { canTransferSockets } from '../src/engine/socket-transfer.js';
import { CPU_ITERATIONS_ENV, CPU_PATH, cpuBody, HELLO_BODY, HELLO_PATH } from './http/app.js';
import { BenchChild } from './http/child.js';
import { busyFraction, machineTimes, processCpuSeconds } from './http/cpu-time.js';
import { calibrateCpuWork } from './http/cpu-work.js';
import type {
  GeneratorMessage,
  LoadJob,
  LoadResult,
  ServerCounters,
  ServerMessage,
} from './http/protocol.js';
import { printTable, type Series, series, si, writeResults } from './lib/report.js';

const { values: options } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    runs: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    pin: { type: 'boolean', default: false },
  },
  strict: true,
});

function numberOption(name: string, value: string | undefined, fallback: number, integer: boolean): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < 0 || (integer && !Number.isInteger(parsed))) {
    throw new Error(`--${name} must be a non-negative ${integer ? 'integer' : 'number'}, got ${value}`);
  }
  return parsed;
}

const QUICK = options.quick;
const RUNS = numberOption('runs', options.runs, QUICK ? 1 : 3, true);
if (RUNS < 1) throw new Error('--runs must be at least 1');
const DURATION_SECONDS = numberOption('duration', options.duration, QUICK ? 1 : 5, false);
const WARMUP_SECONDS = numberOption('warmup', options.warmup, QUICK ? 0.5 : 1, false);
if (DURATION_SECONDS <= 0) throw new Error('--duration must be more than 0');
const CORES = os.availableParallelism();
/** With --pin the generator runs on the last core only; servers always run wherever the scheduler likes. */
const GENERATOR_CPUS = options.pin ? String(CORES - 1) : undefined;
const CPU_TARGET_MS = 0.2;
/** What autocannon manages at most on these machines (measured before): at that rate it is the limit. */
const GENERATOR_CEILING_RPS = 60_000;
const CEILING_SHARE = 0.85;
/** A generator using this much of its one core (autocannon is single-threaded) is saturated. */
const GENERATOR_SATURATED_CORES = 0.9;
/** Cores used by other processes during a measurement above which its figure is flagged as disturbed. */
const DISTURBED_CORES = 0.25;
const SERVER_START_TIMEOUT_MS = 30_000;
const SERVER_STOP_TIMEOUT_MS = 5_000;
const COUNTERS_TIMEOUT_MS = 5_000;
const CHECK_TIMEOUT_MS = 5_000;
/** Slack over a job's duration: connecting, the last tick, a request timeout (10 s) at worst. */
const JOB_SLACK_MS = 20_000;
/**
 * Quiet time after each load job before counters are read: autocannon destroys its connections at the end
 * of a run, with requests in flight, and a server sees those resets a moment later. Waiting lets each job's
 * resets land in its own counters (the warm-up's before the measurement starts).
 */
const SETTLE_MS = 150;
/** Server counters of client resets and broken pipes: up to one per connection is expected at a run's end. */
const RESET_COUNTERS = new Set(['socketErrors', 'clientErrors']);

const autocannonVersion = (createRequire(import.meta.url)('autocannon/package.json') as { version: string })
  .version;

interface Contender {
  readonly name: string;
  readonly description: string;
  readonly module: URL;
  readonly args: readonly string[];
}

const sockshardServer = new URL('./http/server-sockshard.ts', import.meta.url);
const sockshard = (name: string, balance: string, note: string): Contender => ({
  name,
  description: `sockshard http, ${CORES} shards, balance '${balance}'${note}`,
  module: sockshardServer,
  args: ['--shards', String(CORES), '--balance', balance],
});
// Node 24+ can move a net.Socket to a worker by postMessage: then sockshard's other handoff is measured too.
const TRANSFER = await canTransferSockets();
const CONTENDERS: readonly Contender[] = [
  sockshard('sockshard', 'least-connections', ' (the default)'),
  ...(TRANSFER
    ? [
        {
          ...sockshard('sockshard-transfer', 'least-connections', ''),
          description: `sockshard http, ${CORES} shards, handoff 'transfer': Node accepts and moves the socket by postMessage`,
          args: ['--shards', String(CORES), '--balance', 'least-connections', '--handoff', 'transfer'],
        },
      ]
    : []),
  sockshard('sockshard-kernel', 'kernel', ': SO_REUSEPORT socket per shard, no coordinator hop'),
  sockshard('sockshard-rr', 'round-robin', ''),
  {
    name: 'node-single',
    description: 'node:http, one thread',
    module: new URL('./http/server-single.ts', import.meta.url),
    args: [],
  },
  {
    name: 'node-cluster',
    description: `node:cluster, ${CORES} workers sharing the socket, default scheduling (round-robin on Linux)`,
    module: new URL('./http/server-cluster.ts', import.meta.url),
    args: ['--workers', String(CORES)],
  },
];
const HEADLINE = 'sockshard';
const SKIPPED = TRANSFER
  ? []
  : [
      {
        contender: 'sockshard-transfer',
        reason: `handoff 'transfer' needs a Node that moves a net.Socket to a worker by postMessage (24+ here); this is ${process.version}`,
      },
    ];

interface Scenario {
  readonly name: string;
  readonly title: string;
  readonly path: string;
  readonly connections: number;
  /** `Connection: close`: every request on a new connection; the figure is connections/s, no latency. */
  readonly churn: boolean;
}

const SCENARIOS: readonly Scenario[] = [
  {
    name: 'keepalive-10',
    title: 'keep-alive, 10 connections, hello world',
    path: HELLO_PATH,
    connections: 10,
    churn: false,
  },
  {
    name: 'keepalive-100',
    title: 'keep-alive, 100 connections, hello world',
    path: HELLO_PATH,
    connections: 100,
    churn: false,
  },
  {
    name: 'churn',
    title:
      'connection churn: Connection: close, a new connection for every request, 50 at a time, hello world',
    path: HELLO_PATH,
    connections: 50,
    churn: true,
  },
  {
    name: 'cpu',
    title: `CPU-heavy handler: ~${CPU_TARGET_MS} ms of native crypto (pbkdf2) per request, keep-alive, 100 connections`,
    path: CPU_PATH,
    connections: 100,
    churn: false,
  },
];

interface Server {
  readonly contender: Contender;
  readonly child: BenchChild<ServerMessage>;
  readonly port: number;
  readonly pids: readonly number[];
}

type Generator = BenchChild<GeneratorMessage>;

/** One measurement of one contender in one scenario. */
interface Sample {
  readonly run: number;
  readonly scenario: string;
  readonly contender: string;
  readonly connections: number;
  /** 2xx responses per second (connections per second in the churn scenario). */
  readonly rps: number;
  readonly load: Omit<LoadResult, 'type'>;
  readonly wallSeconds: number;
  /** CPU the server's processes used, in cores (1 = one core busy the whole time). */
  readonly serverCpuCores: number;
  readonly generatorCpuCores: number;
  /** The machine's busy share of all cores (our processes and anything else running). */
  readonly machineBusy: number;
  /** Cores used by processes outside the benchmark (the orchestrator's own share is negligible). */
  readonly otherCpuCores: number;
  readonly requestsPerWorker: readonly number[];
  readonly connectionsPerWorker: readonly number[];
  /** Server-side failure counters that moved during the measurement (resets included). */
  readonly serverProblems: Readonly<Record<string, number>>;
}

function expectedBody(scenario: Scenario, cpuIterations: number): string {
  return scenario.path === CPU_PATH ? cpuBody(cpuIterations) : HELLO_BODY;
}

function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.get(
      { host: '127.0.0.1', port, path, agent: false, timeout: CHECK_TIMEOUT_MS },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          body += chunk;
        });
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
        response.on('error', reject);
      },
    );
    request.on('timeout', () => request.destroy(new Error(`GET ${path} timed out`)));
    request.on('error', reject);
  });
}

/** Before any load: the server must answer 200 with the right body, on fresh connections to every worker. */
async function checkServer(server: Server, cpuIterations: number): Promise<void> {
  const routes = [
    [HELLO_PATH, HELLO_BODY],
    [CPU_PATH, cpuBody(cpuIterations)],
  ] as const;
  for (let i = 0; i < 2 * CORES; i++) {
    for (const [path, body] of routes) {
      const response = await get(server.port, path);
      if (response.status !== 200 || response.body !== body) {
        throw new Error(
          `${server.contender.name}: GET ${path} answered ${response.status} ${JSON.stringify(response.body)}, expected 200 ${JSON.stringify(body)}`,
        );
      }
    }
  }
}

async function startServer(contender: Contender, env: NodeJS.ProcessEnv): Promise<Server> {
  const child = new BenchChild<ServerMessage>(contender.name, contender.module, {
    args: contender.args,
    env,
  });
  try {
    const { port, pids } = await child.next('listening', SERVER_START_TIMEOUT_MS);
    return { contender, child, port, pids };
  } catch (error) {
    child.kill();
    throw error;
  }
}

/** Starts every contender's server; if one fails, the others are killed too. */
async function startServers(env: NodeJS.ProcessEnv): Promise<Server[]> {
  const started = await Promise.allSettled(CONTENDERS.map((contender) => startServer(contender, env)));
  const failed = started.find((result) => result.status === 'rejected');
  if (failed !== undefined) {
    for (const result of started) if (result.status === 'fulfilled') result.value.child.kill();
    throw failed.reason;
  }
  return started.map((result) => (result as PromiseFulfilledResult<Server>).value);
}

/** Asks a server to close cleanly (timed: a slow close is worth knowing about), then kills what is left. */
async function stopServer(server: Server): Promise<number | null> {
  try {
    const { closeMs } = await server.child.request({ type: 'stop' }, 'stopped', SERVER_STOP_TIMEOUT_MS);
    await server.child.exited(SERVER_STOP_TIMEOUT_MS);
    return closeMs;
  } catch (error) {
    console.error(`${server.contender.name}: did not stop cleanly: ${(error as Error).message}`);
    return null;
  } finally {
    server.child.kill();
  }
}

function counters(server: Server): Promise<ServerCounters> {
  return server.child.request({ type: 'counters' }, 'counters', COUNTERS_TIMEOUT_MS);
}

function difference(after: readonly number[], before: readonly number[]): number[] {
  return after.map((value, i) => value - (before[i] ?? 0));
}

function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
}

function runJob(generator: Generator, job: LoadJob): Promise<LoadResult> {
  return generator.request(job, 'result', job.durationSeconds * 1000 + JOB_SLACK_MS);
}

async function measure(
  generator: Generator,
  server: Server,
  scenario: Scenario,
  cpuIterations: number,
  run: number,
): Promise<Sample> {
  const job: LoadJob = {
    type: 'load',
    url: `http://127.0.0.1:${server.port}${scenario.path}`,
    connections: scenario.connections,
    durationSeconds: DURATION_SECONDS,
    headers: scenario.churn ? { connection: 'close' } : {},
    expectBody: expectedBody(scenario, cpuIterations),
    recordLatency: !scenario.churn,
  };
  // Warm up with the very load that follows (same connections, same mode), and throw the figures away.
  if (WARMUP_SECONDS > 0) {
    await runJob(generator, { ...job, durationSeconds: WARMUP_SECONDS, recordLatency: false });
  }
  await settle();
  const before = await counters(server);
  const serverCpuBefore = processCpuSeconds(server.pids);
  const machineBefore = machineTimes();
  const startedAt = performance.now();
  const { type: _type, ...load } = await runJob(generator, job);
  const wallSeconds = (performance.now() - startedAt) / 1000;
  const serverCpu = processCpuSeconds(server.pids) - serverCpuBefore;
  const machineBusy = busyFraction(machineBefore, machineTimes());
  await settle();
  const after = await counters(server);
  const serverProblems: Record<string, number> = {};
  for (const [name, value] of Object.entries(after.problems)) {
    const moved = value - (before.problems[name] ?? 0);
    if (moved !== 0) serverProblems[name] = moved;
  }
  return {
    run,
    scenario: scenario.name,
    contender: server.contender.name,
    connections: scenario.connections,
    rps: load.ok / load.durationSeconds,
    load,
    wallSeconds,
    serverCpuCores: serverCpu / wallSeconds,
    generatorCpuCores: load.cpuSeconds / wallSeconds,
    machineBusy,
    otherCpuCores: Math.max(0, machineBusy * CORES - serverCpu / wallSeconds - load.cpuSeconds / wallSeconds),
    requestsPerWorker: difference(after.requests, before.requests),
    connectionsPerWorker: difference(after.connections, before.connections),
    serverProblems,
  };
}

/** A sample's failures, sorted: what the client saw, resets on the server, and anything else on the server. */
interface Problems {
  readonly client: Record<string, number>;
  readonly server: Record<string, number>;
  readonly resets: number;
  /** More resets than connections: more than the end of the run explains. */
  readonly tooManyResets: boolean;
}

function problemsOf(sample: Sample): Problems {
  const { non2xx, errors, timeouts, mismatches } = sample.load;
  const client: Record<string, number> = {};
  // autocannon counts a timeout as an error too: show errors without timeouts, and timeouts apart.
  for (const [name, value] of Object.entries({ non2xx, errors: errors - timeouts, timeouts, mismatches })) {
    if (value !== 0) client[name] = value;
  }
  const server: Record<string, number> = {};
  let resets = 0;
  for (const [name, value] of Object.entries(sample.serverProblems)) {
    if (RESET_COUNTERS.has(name)) resets += value;
    else server[name] = value;
  }
  return { client, server, resets, tooManyResets: resets > sample.connections };
}

function describeProblems(client: Record<string, number>, server: Record<string, number>): string {
  const parts = [
    ...Object.entries(client).map(([name, value]) => `${name} ${value}`),
    ...Object.entries(server).map(([name, value]) => `server ${name} ${value}`),
  ];
  return parts.length === 0 ? '0' : parts.join(', ');
}

function sum(into: Record<string, number>, add: Readonly<Record<string, number>>): Record<string, number> {
  for (const [name, value] of Object.entries(add)) into[name] = (into[name] ?? 0) + value;
  return into;
}

function ms(value: number): string {
  return value >= 10 ? value.toFixed(1) : value.toFixed(2);
}

function progress(sample: Sample): void {
  const unit = sample.scenario === 'churn' ? 'conn/s' : 'req/s';
  const latency =
    sample.load.latencyMs === null
      ? ''
      : `  p50 ${ms(sample.load.latencyMs.p50)} ms  p99 ${ms(sample.load.latencyMs.p99)} ms`;
  const problems = problemsOf(sample);
  const described = describeProblems(problems.client, problems.server);
  console.log(
    `  ${sample.scenario.padEnd(13)} ${sample.contender.padEnd(17)} ${si(sample.rps).padStart(6)} ${unit}${latency}` +
      `  cpu srv ${sample.serverCpuCores.toFixed(2)} gen ${sample.generatorCpuCores.toFixed(2)} other ${sample.otherCpuCores.toFixed(2)}` +
      (problems.resets === 0
        ? ''
        : `  resets ${problems.resets}${problems.tooManyResets ? ' (TOO MANY)' : ''}`) +
      (described === '0' ? '' : `  PROBLEMS: ${described}`),
  );
}

/**
 * After start: some hello-world load on every server in turn, so that each has run its request path before
 * any measurement, and so that the load generator itself is warm before the first one (a cold autocannon
 * would otherwise handicap whichever contender happens to be measured first).
 */
async function warmUp(generator: Generator, servers: readonly Server[]): Promise<void> {
  for (const server of servers) {
    await runJob(generator, {
      type: 'load',
      url: `http://127.0.0.1:${server.port}${HELLO_PATH}`,
      connections: 10,
      durationSeconds: Math.max(WARMUP_SECONDS, 0.5),
      headers: {},
      expectBody: HELLO_BODY,
      recordLatency: false,
    });
  }
}

function rotate<T>(items: readonly T[], by: number): T[] {
  const shift = by % items.length;
  return [...items.slice(shift), ...items.slice(0, shift)];
}

// ---- the run ----

const calibration = calibrateCpuWork(CPU_TARGET_MS);
const env = { ...process.env, [CPU_ITERATIONS_ENV]: String(calibration.iterations) };
const perMeasurementSeconds = WARMUP_SECONDS + DURATION_SECONDS + 0.5;
const expectedSeconds = RUNS * (5 + CONTENDERS.length * (1 + SCENARIOS.length * perMeasurementSeconds));
const fairness = [
  `load generator: autocannon ${autocannonVersion} in its own process, identical for every contender: pipelining 1,` +
    ` ${DURATION_SECONDS} s measured after a ${WARMUP_SECONDS} s warm-up with the same load, 10 s request timeout,` +
    ` ${GENERATOR_CPUS === undefined ? 'not pinned (--pin puts it on the last core)' : `pinned to core ${GENERATOR_CPUS} with taskset (servers unpinned)`}`,
  `it shares the ${CORES} cores with the server under test (every contender pays the same); 'srv cpu' and 'gen cpu' show who used them`,
  'each server in its own process (started once per run, warmed up, idle while the others are measured); all traffic on 127.0.0.1',
  'contenders take turns within every scenario, the first one rotating each run; figures are medians over the runs (min-max shown)',
  `cpu handler: pbkdf2-sha256 with ${calibration.iterations} iterations per request, the same for every contender and checked in` +
    ` every response body (calibrated once here to ${CPU_TARGET_MS} ms: measured ${calibration.measuredMs.toFixed(3)} ms)`,
  "'other cpu': cores that processes outside the benchmark used meanwhile (this machine is shared); high values mean a disturbed figure",
];

console.log(
  `HTTP benchmark on ${CORES} cores, Node ${process.version}: ${CONTENDERS.map((c) => c.name).join(', ')}; ` +
    `${RUNS} run(s)${QUICK ? ' (quick)' : ''}, about ${Math.ceil(expectedSeconds)} s`,
);
for (const line of fairness) console.log(`  ${line}`);
for (const skipped of SKIPPED) console.log(`  skipped ${skipped.contender}: ${skipped.reason}`);

// Every step has its own timeout; this bounds the whole benchmark in case something waits forever anyway.
const watchdog = setTimeout(
  () => {
    console.error(
      `\nthe benchmark took more than twice its expected ${Math.ceil(expectedSeconds)} s: giving up`,
    );
    process.exit(1);
  },
  (2 * expectedSeconds + 60) * 1000,
);
watchdog.unref();

const samples: Sample[] = [];
const closeTimes: Record<string, (number | null)[]> = {};
const generator: Generator = new BenchChild<GeneratorMessage>(
  'load generator',
  new URL('./http/load-generator.ts', import.meta.url),
  GENERATOR_CPUS === undefined ? {} : { cpus: GENERATOR_CPUS },
);
try {
  await generator.next('ready', SERVER_START_TIMEOUT_MS);
  for (let run = 0; run < RUNS; run++) {
    console.log(`\nrun ${run + 1}/${RUNS}`);
    const servers = await startServers(env);
    try {
      for (const server of servers) await checkServer(server, calibration.iterations);
      await warmUp(generator, servers);
      const order = rotate(servers, run);
      for (const scenario of SCENARIOS) {
        for (const server of order) {
          const sample = await measure(generator, server, scenario, calibration.iterations, run);
          samples.push(sample);
          progress(sample);
        }
      }
    } finally {
      const closed = await Promise.all(servers.map(stopServer));
      servers.forEach((server, i) => {
        closeTimes[server.contender.name] = [...(closeTimes[server.contender.name] ?? []), closed[i]!];
      });
    }
  }
} finally {
  generator.kill();
}
clearTimeout(watchdog);

// ---- the report ----

interface Aggregate {
  readonly rps: Series;
  readonly p50Ms: Series | null;
  readonly p99Ms: Series | null;
  readonly serverCpuCores: Series;
  readonly generatorCpuCores: Series;
  readonly machineBusy: Series;
  readonly otherCpuCores: Series;
  /** Server CPU per 2xx response (all its threads and processes), in µs. */
  readonly serverCpuMicrosPerRequest: Series;
  /** Share of requests, and of connections, per worker / shard over all runs. */
  readonly requestShare: readonly number[];
  readonly connectionShare: readonly number[];
  readonly clientProblems: Readonly<Record<string, number>>;
  readonly serverProblems: Readonly<Record<string, number>>;
  /** Server-side client resets over all runs (expected: up to one per connection per run). */
  readonly resets: number;
  readonly notes: readonly string[];
}

function shares(lists: readonly (readonly number[])[]): number[] {
  const totals: number[] = [];
  for (const list of lists) {
    list.forEach((value, i) => {
      totals[i] = (totals[i] ?? 0) + value;
    });
  }
  const all = totals.reduce((a, b) => a + b, 0);
  return totals.map((value) => (all === 0 ? 0 : value / all));
}

function aggregate(scenario: Scenario, contender: Contender): Aggregate {
  const mine = samples.filter((s) => s.scenario === scenario.name && s.contender === contender.name);
  const latencies = mine.map((s) => s.load.latencyMs).filter((l) => l !== null);
  const rps = series(mine.map((s) => s.rps));
  const generatorCpuCores = series(mine.map((s) => s.generatorCpuCores));
  const otherCpuCores = series(mine.map((s) => s.otherCpuCores));
  const problems = mine.map(problemsOf);
  const client = problems.reduce((into, p) => sum(into, p.client), {});
  const server = problems.reduce((into, p) => sum(into, p.server), {});
  const resets = problems.reduce((total, p) => total + p.resets, 0);
  const notes: string[] = [];
  if (rps.median >= CEILING_SHARE * GENERATOR_CEILING_RPS) {
    notes.push(
      `at autocannon's ~${si(GENERATOR_CEILING_RPS)} req/s ceiling: the generator, not the server, is the limit`,
    );
  }
  if (generatorCpuCores.median >= GENERATOR_SATURATED_CORES) {
    notes.push(
      `generator saturated (autocannon used ${(generatorCpuCores.median * 100).toFixed(0)}% of its one core): the server may have more to give`,
    );
  }
  if (otherCpuCores.max >= DISTURBED_CORES) {
    notes.push(
      `disturbed: processes outside the benchmark used up to ${otherCpuCores.max.toFixed(2)} cores during its measurement(s)`,
    );
  }
  if (problems.some((p) => p.tooManyResets)) {
    notes.push(
      'PROBLEM: more server-side resets than connections in a run (more than the end of a run explains)',
    );
  }
  if (Object.keys(client).length > 0 || Object.keys(server).length > 0) {
    notes.push(`PROBLEMS over all runs: ${describeProblems(client, server)}`);
  }
  const complete = latencies.length === mine.length && mine.length > 0;
  return {
    rps,
    p50Ms: complete ? series(latencies.map((l) => l.p50)) : null,
    p99Ms: complete ? series(latencies.map((l) => l.p99)) : null,
    serverCpuCores: series(mine.map((s) => s.serverCpuCores)),
    generatorCpuCores,
    machineBusy: series(mine.map((s) => s.machineBusy)),
    otherCpuCores,
    serverCpuMicrosPerRequest: series(
      mine.map((s) => ((s.serverCpuCores * s.wallSeconds) / s.load.ok) * 1e6),
    ),
    requestShare: shares(mine.map((s) => s.requestsPerWorker)),
    connectionShare: shares(mine.map((s) => s.connectionsPerWorker)),
    clientProblems: client,
    serverProblems: server,
    resets,
    notes,
  };
}

const results: Record<string, Record<string, Aggregate>> = {};
for (const scenario of SCENARIOS) {
  results[scenario.name] = Object.fromEntries(CONTENDERS.map((c) => [c.name, aggregate(scenario, c)]));
}
const rate = (scenario: string, contender: string) => results[scenario]![contender]!.rps.median;

/** Which scenario and baseline each ratio compares (contender req/s / baseline req/s; conn/s for churn). */
const RATIOS = {
  keepalive_vs_cluster: ['keepalive-100', 'node-cluster'],
  keepalive_vs_single: ['keepalive-100', 'node-single'],
  keepalive10_vs_cluster: ['keepalive-10', 'node-cluster'],
  keepalive10_vs_single: ['keepalive-10', 'node-single'],
  churn_vs_cluster: ['churn', 'node-cluster'],
  churn_vs_single: ['churn', 'node-single'],
  cpu_vs_single: ['cpu', 'node-single'],
  cpu_vs_cluster: ['cpu', 'node-cluster'],
} as const;

/** From the medians over the runs. */
function ratiosFor(contender: string): Record<string, number> {
  return Object.fromEntries(
    Object.entries(RATIOS).map(([key, [scenario, baseline]]) => [
      key,
      rate(scenario, contender) / rate(scenario, baseline),
    ]),
  );
}

/** The same ratios run by run (both sides measured moments apart): a check on drift between runs. */
function ratiosPerRun(contender: string): Record<string, number[]> {
  const at = (run: number, scenario: string, name: string) =>
    samples.find((s) => s.run === run && s.scenario === scenario && s.contender === name)!.rps;
  return Object.fromEntries(
    Object.entries(RATIOS).map(([key, [scenario, baseline]]) => [
      key,
      Array.from({ length: RUNS }, (_, run) => at(run, scenario, contender) / at(run, scenario, baseline)),
    ]),
  );
}

const percent = (list: readonly number[]) => list.map((share) => (share * 100).toFixed(0)).join('/');
const minMax = (s: Series) => `${si(s.min)}-${si(s.max)}`;

for (const scenario of SCENARIOS) {
  const unit = scenario.churn ? 'conn/s' : 'req/s';
  const byName = results[scenario.name]!;
  const detail = scenario.churn
    ? 'conn/s = completed requests/s; latency is not measurable in this mode'
    : 'latency of keep-alive responses in ms';
  printTable(
    `${scenario.title}\n(median of ${RUNS} run(s); ${detail}; split = share of requests per shard/worker, connections in brackets)`,
    CONTENDERS.map((contender) => {
      const a = byName[contender.name]!;
      const row: Record<string, string> = {
        contender: contender.name,
        [unit]: si(a.rps.median),
        'min-max': minMax(a.rps),
      };
      if (!scenario.churn) {
        row['p50 ms'] = a.p50Ms === null ? '-' : ms(a.p50Ms.median);
        row['p99 ms'] = a.p99Ms === null ? '-' : ms(a.p99Ms.median);
      }
      row['vs cluster'] = (a.rps.median / rate(scenario.name, 'node-cluster')).toFixed(2);
      row['vs single'] = (a.rps.median / rate(scenario.name, 'node-single')).toFixed(2);
      row['srv cpu'] = a.serverCpuCores.median.toFixed(2);
      row['srv µs/req'] = a.serverCpuMicrosPerRequest.median.toFixed(0);
      row['gen cpu'] = a.generatorCpuCores.median.toFixed(2);
      row['other cpu'] = a.otherCpuCores.median.toFixed(2);
      row.split = `${percent(a.requestShare)} (${percent(a.connectionShare)})`;
      row.resets = String(a.resets);
      row.errors = describeProblems(a.clientProblems, a.serverProblems);
      return row;
    }),
  );
  for (const contender of CONTENDERS) {
    for (const note of byName[contender.name]!.notes) console.log(`  ${contender.name}: ${note}`);
  }
}
console.log(
  "\nresets: server-side ECONNRESET/EPIPE (sockshard socketErrors, node:http clientError): autocannon destroys its connections with requests in flight when a run ends, so up to one per connection per run is expected; 'errors': what the client saw (non-2xx, connection errors, timeouts, wrong bodies) and server failures (handler errors, dropped or unadoptable connections, engine errors, dead shards or workers)",
);

const ratios = ratiosFor(HEADLINE);
const otherRatios = Object.fromEntries(
  CONTENDERS.filter((c) => c.name.startsWith('sockshard') && c.name !== HEADLINE).map((c) => [
    c.name,
    ratiosFor(c.name),
  ]),
);
printTable(
  `ratios: req/s of each sockshard variant / baseline (medians); keepalive = 100 connections`,
  Object.entries(ratios).map(([name, value]) => ({
    name,
    [HEADLINE]: value.toFixed(2),
    ...Object.fromEntries(
      Object.entries(otherRatios).map(([contender, r]) => [contender, r[name]!.toFixed(2)]),
    ),
  })),
);
for (const skipped of SKIPPED) console.log(`skipped ${skipped.contender}: ${skipped.reason}`);
if (QUICK) console.log('--quick: one short run, noisy; use a full run for figures');

const file = writeResults('http', {
  quick: QUICK,
  runs: RUNS,
  cores: CORES,
  fairness,
  settings: {
    generator: `autocannon ${autocannonVersion}`,
    generatorCpus: GENERATOR_CPUS ?? null,
    pipelining: 1,
    durationSeconds: DURATION_SECONDS,
    warmupSeconds: WARMUP_SECONDS,
    requestTimeoutSeconds: 10,
    generatorCeilingRps: GENERATOR_CEILING_RPS,
    order: 'contenders interleaved within each scenario, first contender rotated each run',
  },
  cpuWork: {
    method:
      'pbkdf2Sync sha256 with a fixed iteration count per request (native), calibrated once in the orchestrator',
    ...calibration,
  },
  contenders: CONTENDERS.map(({ name, description }) => ({ name, description })),
  skipped: SKIPPED,
  scenarios: SCENARIOS,
  ratios,
  ratiosByContender: otherRatios,
  ratiosPerRun: ratiosPerRun(HEADLINE),
  results,
  closeMs: closeTimes,
  raw: samples,
});
console.log(`\nwrote ${file}`);
