/**
 * `sockshard bench ./app.mjs`: the user's own HTTP handler on sockshard (N shards), on node:cluster (the
 * same handler in N worker processes) and on one node:http thread, each in a process of its own
 * (bench-server.ts), driven one after another by autocannon from this process with the same settings:
 * a warm-up, then the measured run. Prints a table with throughput, the ratios to both baselines,
 * latencies, and the server's CPU time per request (CPU per operation does not depend on who wins the
 * cores against the load generator, which shares the machine); `--json` prints the same as JSON.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { siblingModule } from '../engine/start-worker.js';
import type { BenchServerReply, BenchServerRequest, Contender } from './bench-server.js';
import type { UserModule } from './user-module.js';

/** The part of autocannon's programmatic API used here (the package ships no types). */
interface AutocannonOptions {
  readonly url: string;
  readonly connections: number;
  readonly duration: number;
  readonly pipelining: number;
  /** Seconds before a request counts as timed out. */
  readonly timeout: number;
}
interface AutocannonResult {
  readonly duration: number;
  readonly errors: number;
  readonly timeouts: number;
  readonly non2xx: number;
  readonly '2xx': number;
  readonly requests: { readonly total: number };
  /** Milliseconds, whole (autocannon's histogram keeps integers). */
  readonly latency: {
    readonly p50: number;
    readonly p90: number;
    readonly p99: number;
    readonly max: number;
  };
}
interface AutocannonInstance {
  stop(): void;
}
interface Autocannon {
  (
    options: AutocannonOptions,
    done: (error: Error | null, result: AutocannonResult) => void,
  ): AutocannonInstance;
  track(instance: AutocannonInstance, options: Readonly<Record<string, unknown>>): void;
}

const require = createRequire(import.meta.url);
const SERVER = siblingModule('./bench-server.js', import.meta.url);
/** Per-request timeout: never fires on a healthy server, bounds a stuck run. */
const REQUEST_TIMEOUT_SECONDS = 10;
const START_TIMEOUT_MS = 60_000;

export interface HandlerBenchFlags {
  /** Shards for sockshard, worker processes for node:cluster. */
  readonly workers: number;
  readonly connections: number;
  readonly durationSeconds: number;
  readonly warmupSeconds: number;
  /** The request path. */
  readonly path: string;
}

export interface ContenderResult {
  readonly name: Contender;
  readonly label: string;
  /** Threads (sockshard), processes (cluster) or 1 (node:http) running the handler. */
  readonly workers: number;
  readonly requestsPerSecond: number;
  /** Responses received in the measured run (any status). */
  readonly requests: number;
  readonly non2xx: number;
  /** Socket errors and timeouts (autocannon counts a timeout as both). */
  readonly errors: number;
  readonly timeouts: number;
  readonly latencyMs: {
    readonly p50: number;
    readonly p90: number;
    readonly p99: number;
    readonly max: number;
  };
  /** The whole server's CPU time (user + system, every thread and process) per request. */
  readonly cpuMicrosPerRequest: number;
}

export interface HandlerBenchReport {
  readonly handler: string;
  readonly node: string;
  readonly workers: number;
  readonly connections: number;
  readonly warmupSeconds: number;
  readonly durationSeconds: number;
  readonly path: string;
  readonly contenders: readonly ContenderResult[];
  /** sockshard's figures over each baseline's: throughput (higher is better), CPU per request (lower is). */
  readonly ratios: {
    readonly throughputVsCluster: number;
    readonly throughputVsHttp: number;
    readonly cpuPerRequestVsCluster: number;
    readonly cpuPerRequestVsHttp: number;
  };
}

/** A contender's server process (bench-server.ts), spoken to over its IPC channel. */
export class BenchServer {
  readonly #child: ChildProcess;
  readonly #exited: Promise<unknown>;

  private constructor(child: ChildProcess) {
    this.#child = child;
    this.#exited = once(child, 'exit');
  }

  static async start(
    contender: Contender,
    handler: URL,
    workers: number,
  ): Promise<{ server: BenchServer; port: number }> {
    // From a clone the CLI runs its TypeScript sources under tsx; the server must too.
    const tsx = SERVER.pathname.endsWith('.ts') ? ['--import', require.resolve('tsx')] : [];
    const child = fork(fileURLToPath(SERVER), [contender, handler.href, String(workers)], {
      execArgv: [...process.execArgv, ...tsx],
      // The handler's own output goes to stderr, so that stdout stays the table (or the JSON).
      stdio: ['ignore', 2, 2, 'ipc'],
    });
    const server = new BenchServer(child);
    try {
      const reply = await server.#reply(['listening', 'failed'], START_TIMEOUT_MS);
      if (reply.type === 'failed') throw new Error(reply.message);
      if (reply.type !== 'listening') throw new Error(`unexpected ${reply.type}`);
      return { server, port: reply.port };
    } catch (error) {
      await server.close();
      throw error;
    }
  }

  async cpuMicros(): Promise<number> {
    this.#child.send({ type: 'cpu' } satisfies BenchServerRequest);
    const reply = await this.#reply(['cpu'], START_TIMEOUT_MS);
    return reply.type === 'cpu' ? reply.micros : Number.NaN;
  }

  async close(): Promise<void> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) {
      // The server may be on its way out already (it failed to start): then sending fails, and it is killed.
      const kill = (error: Error | null) => error !== null && this.#child.kill();
      if (this.#child.connected) this.#child.send({ type: 'close' } satisfies BenchServerRequest, kill);
      else this.#child.kill();
      const timer = setTimeout(() => this.#child.kill('SIGKILL'), 10_000);
      await this.#exited;
      clearTimeout(timer);
    }
  }

  /** The next message of one of `types`; rejects if the server exits first or takes longer than `ms`. */
  #reply(types: readonly BenchServerReply['type'][], ms: number): Promise<BenchServerReply> {
    return new Promise((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#child.off('message', onMessage);
        this.#child.off('exit', onExit);
      };
      const onMessage = (message: BenchServerReply): void => {
        if (!types.includes(message.type)) return;
        done();
        resolve(message);
      };
      const onExit = (code: number | null): void => {
        done();
        reject(new Error(`the server exited (code ${code}) before it answered`));
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no answer from the server within ${ms / 1000} s`));
      }, ms);
      this.#child.on('message', onMessage);
      this.#child.on('exit', onExit);
    });
  }
}

function runLoad(options: AutocannonOptions, progress: boolean): Promise<AutocannonResult> {
  const autocannon = require('autocannon') as Autocannon;
  return new Promise((resolve, reject) => {
    const instance = autocannon(options, (error, result) =>
      error === null ? resolve(result) : reject(error),
    );
    if (progress) autocannon.track(instance, { renderResultsTable: false, outputStream: process.stderr });
  });
}

const LABELS: Readonly<Record<Contender, (workers: number) => string>> = {
  sockshard: (workers) => `sockshard, ${workers} shard${workers === 1 ? '' : 's'}`,
  cluster: (workers) => `node:cluster, ${workers} worker${workers === 1 ? '' : 's'}`,
  http: () => 'node:http, 1 thread',
};

async function measure(
  contender: Contender,
  module: UserModule,
  flags: HandlerBenchFlags,
  step: string,
): Promise<ContenderResult> {
  const workers = contender === 'http' ? 1 : flags.workers;
  const label = LABELS[contender](workers);
  const log = (text: string) => console.error(`${step} ${label}: ${text}`);
  log('starting');
  const { server, port } = await BenchServer.start(contender, module.url, workers);
  try {
    const load = {
      url: `http://127.0.0.1:${port}${flags.path}`,
      connections: flags.connections,
      pipelining: 1,
      timeout: REQUEST_TIMEOUT_SECONDS,
    };
    log(`warming up for ${flags.warmupSeconds} s`);
    await runLoad({ ...load, duration: flags.warmupSeconds }, false);
    const cpuBefore = await server.cpuMicros();
    // autocannon's progress bar (on a terminal) while the measured run goes.
    const result = await runLoad({ ...load, duration: flags.durationSeconds }, process.stderr.isTTY === true);
    const cpu = (await server.cpuMicros()) - cpuBefore;
    const ok = result['2xx'];
    const measured: ContenderResult = {
      name: contender,
      label,
      workers,
      requestsPerSecond: ok / result.duration,
      requests: result.requests.total,
      non2xx: result.non2xx,
      errors: result.errors,
      timeouts: result.timeouts,
      latencyMs: {
        p50: result.latency.p50,
        p90: result.latency.p90,
        p99: result.latency.p99,
        max: result.latency.max,
      },
      cpuMicrosPerRequest: result.requests.total === 0 ? Number.NaN : cpu / result.requests.total,
    };
    log(
      `${Math.round(measured.requestsPerSecond)} req/s, p99 ${measured.latencyMs.p99} ms, ` +
        `${micros(measured.cpuMicrosPerRequest)} us CPU per request`,
    );
    return measured;
  } finally {
    await server.close();
  }
}

/** Runs the three contenders and builds the report; throws if a server does not start. */
export async function benchHandler(
  module: UserModule,
  flags: HandlerBenchFlags,
): Promise<HandlerBenchReport> {
  console.error(
    `sockshard bench ${module.name}: ${flags.connections} connections, ${flags.warmupSeconds} s warm-up and ` +
      `${flags.durationSeconds} s measured per contender, GET ${flags.path}`,
  );
  const order: readonly Contender[] = ['sockshard', 'cluster', 'http'];
  const contenders: ContenderResult[] = [];
  for (const [index, contender] of order.entries()) {
    contenders.push(await measure(contender, module, flags, `[${index + 1}/${order.length}]`));
  }
  const [sockshard, cluster, http] = contenders as [ContenderResult, ContenderResult, ContenderResult];
  return {
    handler: module.name,
    node: process.version,
    workers: flags.workers,
    connections: flags.connections,
    warmupSeconds: flags.warmupSeconds,
    durationSeconds: flags.durationSeconds,
    path: flags.path,
    contenders,
    ratios: {
      throughputVsCluster: sockshard.requestsPerSecond / cluster.requestsPerSecond,
      throughputVsHttp: sockshard.requestsPerSecond / http.requestsPerSecond,
      cpuPerRequestVsCluster: sockshard.cpuMicrosPerRequest / cluster.cpuMicrosPerRequest,
      cpuPerRequestVsHttp: sockshard.cpuMicrosPerRequest / http.cpuMicrosPerRequest,
    },
  };
}

/** Microseconds to show: a tenth where that is still a few percent. */
function micros(value: number): string {
  if (!Number.isFinite(value)) return '-';
  return value < 100 ? value.toFixed(1) : value.toFixed(0);
}

/** The report as a table, with a line of ratios under it. */
export function formatHandlerBench(report: HandlerBenchReport): string {
  const [, cluster, http] = report.contenders as [ContenderResult, ContenderResult, ContenderResult];
  const ratio = (value: number) => (Number.isFinite(value) ? `${value.toFixed(2)}x` : '-');
  const header = [
    'contender',
    'req/s',
    'vs cluster',
    'vs http',
    'p50 ms',
    'p90 ms',
    'p99 ms',
    'CPU us/req',
    'errors',
  ];
  const rows = report.contenders.map((row) => [
    row.label,
    Math.round(row.requestsPerSecond).toLocaleString('en-US'),
    ratio(row.requestsPerSecond / cluster.requestsPerSecond),
    ratio(row.requestsPerSecond / http.requestsPerSecond),
    String(row.latencyMs.p50),
    String(row.latencyMs.p90),
    String(row.latencyMs.p99),
    micros(row.cpuMicrosPerRequest),
    // autocannon counts a timeout among its errors too.
    String(row.non2xx + row.errors),
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column]!.length)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!)))
      .join('  ');
  const { ratios } = report;
  return [
    `${report.handler} on Node ${report.node}: ${report.connections} connections, ${report.durationSeconds} s per contender`,
    '',
    line(header),
    line(widths.map((width) => '-'.repeat(width))),
    ...rows.map(line),
    '',
    `sockshard: ${ratio(ratios.throughputVsCluster)} node:cluster's throughput at ${ratio(ratios.cpuPerRequestVsCluster)} its CPU per request; ` +
      `${ratio(ratios.throughputVsHttp)} one node:http thread's at ${ratio(ratios.cpuPerRequestVsHttp)} its CPU per request.`,
    'errors: non-2xx answers, socket errors and timeouts. The load generator (autocannon, in this process) shares the',
    "machine's cores with the server: CPU per request is the steadier figure from one run to the next.",
  ].join('\n');
}
