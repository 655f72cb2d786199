/**
 * HTTP benchmark: sockshard against node:http on one thread and node:cluster (the contenders are in
 * bench/http/contenders.ts), all serving the app of bench/http/app.ts: keep-alive with 10 and 100
 * connections, connection churn (`Connection: close`) and a handler that burns ~0.2 ms of CPU per request;
 * CPU per request or connection by thread beside every figure, and a projection to more cores.
 *
 *   npm run bench:http [-- --quick] [-- --runs N] [-- --seconds S] [-- --warmup S] [-- --only a,b]
 *
 * Fairness: every server runs in its own process for the whole run; the load generator (wrk, a thread
 * per core) is a fresh process per measurement that warms up with the load it then measures. They share
 * the machine's cores alike for every contender. Contenders take turns within each scenario, the first
 * one rotating from run to run. The anchor is Bun.serve (two processes with reusePort), where its npm
 * package's binary runs.
 */
import os from 'node:os';
import {
  CPU_ITERATIONS_ENV,
  CPU_PATH,
  calibrateCpuWork,
  cpuBody,
  HELLO_BODY,
  HELLO_PATH,
} from './http/app.js';
import { CONTENDERS, type HttpContender } from './http/contenders.js';
import type { LoadJob, LoadResult } from './http/load.js';
import { projectHttp } from './http/projection.js';
import { benchArgs, numberArg } from './lib/args.js';
import { Child, commandExists, nodeCommand, type Server, startServer } from './lib/children.js';
import { disturbance, perOperation } from './lib/cpu.js';
import { ReportBuilder } from './lib/report.js';

const args = benchArgs({
  usage: `npm run bench:http -- [options]
  --seconds S    measured seconds per measurement (default 5)
  --warmup S     warm-up seconds before each, with the same load (default 1)
  --only NAMES   only these contenders, comma-separated`,
  runs: 3,
  options: { seconds: { type: 'string' }, warmup: { type: 'string' }, only: { type: 'string' } },
});
const SECONDS = numberArg(args.values, 'seconds', 5);
const WARMUP = numberArg(args.values, 'warmup', 1);
const CORES = os.availableParallelism();
/** Cores used by other processes during a measurement beyond which it is flagged as disturbed. */
const iterations = calibrateCpuWork(0.2);
const keepAlive = (name: string, connections: number, title: string, path = HELLO_PATH) => ({
  name,
  title: `keep-alive, ${connections} connections, ${title}`,
  path,
  connections,
  churn: false,
});
const SCENARIOS = [
  keepAlive('keepalive-10', 10, 'hello world'),
  keepAlive('keepalive-100', 100, 'hello world'),
  {
    name: 'churn',
    title: 'a new connection per request, 50 at a time',
    path: HELLO_PATH,
    connections: 50,
    churn: true,
  },
  keepAlive('heavy', 100, '~0.2 ms of CPU (pbkdf2) per request', CPU_PATH),
];
type Scenario = (typeof SCENARIOS)[number];

const report = new ReportBuilder(
  'http',
  `HTTP: sockshard (${CORES} shards) against node:http and node:cluster`,
  args,
)
  .settings({ seconds: SECONDS, warmupSeconds: WARMUP, cpuIterations: iterations, generator: 'wrk' })
  .note(
    `Each measurement: one probe request checks the contender's status and body, then a fresh wrk (a thread per core; bench/lib/wrk.ts: every answer that is not 2xx and every socket error counted, latency as measured) warms up for ${WARMUP} s with the same load and measures ${SECONDS} s; servers stay up for the run; contenders take turns, the first rotating each run.`,
    'Churn sends `Connection: close` on every request: the server closes after each response and wrk connects anew, so its figure is connections per second (no latency: each response time would include a connect).',
    "heavy's work is one pbkdf2Sync call: Bun's (BoringSSL) costs less CPU per call than Node's (OpenSSL), so against Bun heavy compares the runtimes' pbkdf2 more than their servers.",
    "Bun answers a `Connection: close` request without that header and closes: wrk, which then expects the connection to stay, counts each close as a read error after the complete response (counted). Its churn's read errors are these.",
    `The generator shares the ${CORES} cores with the server (CPU generator: its CPU per operation). Throughput says who won the cores; CPU per operation what each server costs.`,
  );
for (const { name, title, churn } of SCENARIOS) {
  const [unit, operation] = churn ? ['conn/s', 'connection'] : ['req/s', 'request'];
  report.scenario({ name, title, unit, operation, baseline: 'node-cluster' });
}
const only = typeof args.values.only === 'string' ? args.values.only.split(',') : null;
const contenders: HttpContender[] = [];
const noGenerator = commandExists('wrk')
  ? null
  : 'the load generator wrk is not installed (Debian package wrk)';
for (const contender of CONTENDERS.filter((c) => only?.includes(c.name) ?? true)) {
  const reason = noGenerator ?? (await contender.unavailable?.()) ?? null;
  if (reason === null) contenders.push(contender);
  else for (const s of SCENARIOS) report.skip(s.name, contender.name, contender.description, reason);
}

async function measure(server: Server, contender: HttpContender, scenario: Scenario): Promise<void> {
  const job: LoadJob = {
    url: `http://127.0.0.1:${server.port}${scenario.path}`,
    connections: scenario.connections,
    // Pinned to one core (sockshard-1core), one thread; else a thread per core.
    threads: contender.generatorCpus === undefined ? Math.min(CORES, scenario.connections) : 1,
    seconds: SECONDS,
    warmupSeconds: WARMUP,
    headers: scenario.churn ? { connection: 'close' } : {},
    expectBody: scenario.path === CPU_PATH ? cpuBody(iterations) : HELLO_BODY,
    latency: !scenario.churn,
  };
  const load = nodeCommand(new URL('./http/load.ts', import.meta.url), [JSON.stringify(job)]);
  const generator = new Child('load generator', load, { cpus: contender.generatorCpus });
  const meter = server.meter();
  try {
    await generator.json(30_000); // the warm-up is over
    meter.start();
    const result = await generator.json<LoadResult>((SECONDS + 30) * 1000);
    const use = meter.stop();
    const { byRole, wallSeconds } = use;
    const { others, notes: disturbed } = disturbance(use, result.cpuSeconds);
    const notes = [
      ...Object.entries(result.problems).map(([what, count]) => `PROBLEM: ${count} ${what} in a run`),
      ...disturbed,
    ];
    if (result.cpuSeconds / wallSeconds > 0.9)
      notes.push(
        `the load generator used ${(result.cpuSeconds / wallSeconds).toFixed(2)} cores: compare its CPU per operation with the server's`,
      );
    const latency: Record<string, number> =
      result.p50Ms === null ? {} : { p50_ms: result.p50Ms, p99_ms: result.p99Ms! };
    const cpu = perOperation({ ...byRole, generator: result.cpuSeconds }, result.ok);
    report.add(scenario.name, contender.name, contender.description, {
      value: result.ok / result.seconds,
      metrics: { ...latency, server_cores: byRole.server! / wallSeconds, others_cores: others },
      cpu,
      notes,
    });
    console.log(
      `  ${scenario.name} ${contender.name}: ${(result.ok / result.seconds).toFixed(0)}/s, ${cpu.server!.toFixed(1)} µs`,
    );
  } finally {
    await generator.stop();
  }
}

console.log(`HTTP on ${CORES} cores, Node ${process.version}: ${contenders.map((c) => c.name).join(', ')}`);
for (let run = 0; run < args.runs; run++) {
  console.log(`run ${run + 1}/${args.runs}`);
  const servers: [HttpContender, Server][] = [];
  try {
    for (const contender of contenders) {
      const server = await startServer(contender.name, contender.command(CORES), {
        env: { ...process.env, [CPU_ITERATIONS_ENV]: String(iterations) },
        cpus: contender.serverCpus,
        mainRole: contender.mainRole,
      });
      servers.push([contender, server]);
    }
    const order = [...servers.slice(run % servers.length), ...servers.slice(0, run % servers.length)];
    for (const scenario of SCENARIOS) {
      for (const [contender, server] of order) {
        if (contender.scenarios?.includes(scenario.name) ?? true) await measure(server, contender, scenario);
      }
    }
  } finally {
    await Promise.all(servers.map(([, server]) => server.stop()));
  }
}

const capAt = (who: string) => ({
  explain: `connections/s ${who} caps at: 1 / its CPU per connection`,
  higherIsBetter: true,
  map: (us: number) => 1e6 / us,
});
report
  .ratio('keepalive_vs_cluster', 'keepalive-100: sockshard / node-cluster', { key: true })
  .ratio('keepalive_vs_single', 'keepalive-100: sockshard / node-single', { key: true })
  .ratio('keepalive10_vs_cluster', 'keepalive-10: sockshard / node-cluster')
  .ratio('keepalive10_vs_single', 'keepalive-10: sockshard / node-single')
  .ratio('churn_vs_cluster', 'churn: sockshard / node-cluster', { atLeast: 1.5, key: true })
  .ratio('churn_vs_single', 'churn: sockshard / node-single')
  .ratio('churn_kernel_vs_cluster', 'churn: sockshard-kernel / node-cluster')
  .ratio('churn_transfer_vs_native', 'churn: sockshard-transfer / sockshard')
  .ratio('heavy_vs_single', 'heavy: sockshard / node-single', { key: true })
  .ratio('heavy_vs_cluster', 'heavy: sockshard / node-cluster')
  .ratio('fast_keepalive_vs_cluster', 'keepalive-100: sockshard-fast / node-cluster', {
    atLeast: 2,
    key: true,
  })
  .ratio('fast_keepalive_vs_bun', 'keepalive-100: sockshard-fast / bun', { atLeast: 0.8, key: true })
  .ratio('fast_churn_vs_cluster', 'churn: sockshard-fast / node-cluster', { key: true })
  .ratio('fast_keepalive10_vs_cluster', 'keepalive-10: sockshard-fast / node-cluster')
  .ratio('fast_heavy_vs_cluster', 'heavy: sockshard-fast / node-cluster')
  .ratio('fast_vs_node_path', 'keepalive-100: sockshard-fast / sockshard')
  .ratio('fast_cpu_vs_single', 'keepalive-100 cpu.server: sockshard-fast / node-single', {
    atMost: 0.5,
    key: true,
  })
  .ratio('fast_cpu_vs_cluster', 'keepalive-100 cpu.server: sockshard-fast / node-cluster')
  .ratio('fast_cpu_vs_bun', 'keepalive-100 cpu.server: sockshard-fast / bun', { key: true })
  .ratio('fast_churn_cpu_vs_cluster', 'churn cpu.server: sockshard-fast / node-cluster')
  .ratio('keepalive_cpu_vs_cluster', 'keepalive-100 cpu.server: sockshard / node-cluster', { key: true })
  .ratio('keepalive_cpu_vs_single', 'keepalive-100 cpu.server: sockshard / node-single')
  .ratio('churn_cpu_vs_cluster', 'churn cpu.server: sockshard / node-cluster', { key: true })
  .ratio('churn_cpu_vs_single', 'churn cpu.server: sockshard / node-single')
  .ratio('heavy_cpu_vs_single', 'heavy cpu.server: sockshard / node-single')
  .figure('coordinator_us_per_connection', 'µs', 'churn cpu.coordinator: sockshard', { key: true })
  .figure('coordinator_cap_connections_per_second', 'conn/s', 'churn cpu.coordinator: sockshard', {
    ...capAt("sockshard's coordinator"),
    key: true,
  })
  .figure('cluster_primary_us_per_connection', 'µs', 'churn cpu.primary: node-cluster', { key: true })
  .figure('cluster_primary_cap_connections_per_second', 'conn/s', 'churn cpu.primary: node-cluster', {
    ...capAt("node:cluster's primary"),
  });
for (let shard = 0; shard < CORES; shard++) {
  report.figure(`shard${shard}_us_per_request`, 'µs', `keepalive-100 cpu.shard${shard}: sockshard`, {
    key: true,
  });
  report.figure(`fast_shard${shard}_us_per_request`, 'µs', `keepalive-100 cpu.shard${shard}: sockshard-fast`);
}
report.projection(projectHttp(report, CORES)).write();
