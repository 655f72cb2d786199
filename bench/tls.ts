/**
 * TLS benchmark: sockshard's engine.https (a shard per core, every handshake in the shard that owns the
 * connection, one set of session-ticket keys for all shards) against node:cluster (a worker per core,
 * node:https) and node:https on one thread: full handshakes per second (a new connection each time, no
 * ticket offered), resumed handshakes per second (each connection offers the last ticket its client loop
 * got, from whichever shard or worker served that one) with the share that resumed, and HTTP/2 requests
 * per second with many streams (h2load) against the same node:http2 server on node:cluster and one thread;
 * CPU per handshake or request by thread beside every figure.
 *
 *   npm run bench:tls [-- --quick] [-- --runs N] [-- --seconds S] [-- --warmup S] [-- --only a,b]
 *
 * Fairness as in bench/http.ts: every server runs in its own process for the whole run (one process per
 * listener kind), the load generator is a fresh process per measurement that warms up with the load it
 * then measures, contenders take turns within each scenario, the first one rotating from run to run. Every
 * server loads the same RSA-2048 certificate (bench/tls/app.ts).
 */
import os from 'node:os';
import { benchArgs, numberArg } from './lib/args.js';
import { Child, commandExists, nodeCommand, type Server, startServer } from './lib/children.js';
import { disturbance, perOperation } from './lib/cpu.js';
import { ReportBuilder } from './lib/report.js';
import { type CredentialFiles, MAX_STREAMS, writeCredentials } from './tls/app.js';
import type { H2Job, H2Result } from './tls/h2load.js';
import type { HandshakeJob, HandshakeResult } from './tls/handshakes.js';

const args = benchArgs({
  usage: `npm run bench:tls -- [options]
  --seconds S    measured seconds per measurement (default 5)
  --warmup S     warm-up seconds before each, with the same load (default 1)
  --only NAMES   only these contenders, comma-separated (sockshard, node-cluster, node-single)`,
  runs: 3,
  options: { seconds: { type: 'string' }, warmup: { type: 'string' }, only: { type: 'string' } },
});
const SECONDS = numberArg(args.values, 'seconds', 5);
const WARMUP = numberArg(args.values, 'warmup', 1);
const CORES = os.availableParallelism();
/** Cores used by other processes during a measurement beyond which it is flagged as disturbed. */
/** The handshake generator: threads, and connections in flight on each. */
const HANDSHAKE_THREADS = CORES;
const IN_FLIGHT_PER_THREAD = 16;
/** h2load: connections, and streams in flight on each (the servers' SETTINGS_MAX_CONCURRENT_STREAMS). */
const H2_CLIENTS = 10;

type Kind = 'https' | 'http2';
interface TlsContender {
  readonly name: string;
  readonly description: string;
  readonly command: (kind: Kind, credentials: CredentialFiles) => readonly string[];
  readonly mainRole: string;
}
const script = (path: string) => new URL(path, import.meta.url);
const CONTENDERS: readonly TlsContender[] = [
  {
    name: 'sockshard',
    description: `sockshard, ${CORES} shards (engine.https / engine.http2), ticket keys shared by the coordinator`,
    command: (kind, credentials) =>
      nodeCommand(script('./tls/server-sockshard.ts'), [
        JSON.stringify({ ...credentials, kind, shards: CORES }),
      ]),
    mainRole: 'coordinator',
  },
  {
    name: 'node-cluster',
    description: `node:cluster, ${CORES} workers (node:https / node:http2), the primary accepts and passes on`,
    command: (kind, credentials) =>
      nodeCommand(script('./tls/server-node.ts'), [JSON.stringify({ ...credentials, kind, workers: CORES })]),
    mainRole: 'primary',
  },
  {
    name: 'node-single',
    description: 'node:https / node:http2 on one thread',
    command: (kind, credentials) =>
      nodeCommand(script('./tls/server-node.ts'), [JSON.stringify({ ...credentials, kind, workers: 0 })]),
    mainRole: 'main',
  },
];

const SCENARIOS = [
  {
    name: 'full',
    title: `full TLS handshakes: a new connection each time, no ticket offered, ${HANDSHAKE_THREADS * IN_FLIGHT_PER_THREAD} at a time`,
    kind: 'https',
    resume: false,
  },
  {
    name: 'resumed',
    title: `resumed TLS handshakes: a new connection each time offering the last ticket received, ${HANDSHAKE_THREADS * IN_FLIGHT_PER_THREAD} at a time`,
    kind: 'https',
    resume: true,
  },
  {
    name: 'h2',
    title: `HTTP/2 over TLS, ${H2_CLIENTS} connections with ${MAX_STREAMS} streams in flight each`,
    kind: 'http2',
    resume: false,
  },
] as const;
type Scenario = (typeof SCENARIOS)[number];

const report = new ReportBuilder(
  'tls',
  `TLS and HTTP/2: sockshard (${CORES} shards) against node:cluster and one thread`,
  args,
)
  .settings({
    seconds: SECONDS,
    warmupSeconds: WARMUP,
    certificate: 'RSA 2048, self-signed',
    handshakeGenerator: `Node tls.connect, ${HANDSHAKE_THREADS} threads x ${IN_FLIGHT_PER_THREAD} connections`,
    h2Generator: `h2load -c${H2_CLIENTS} -m${MAX_STREAMS} -t${CORES}`,
  })
  .note(
    `Each measurement: a fresh generator process checks the answer, warms up for ${WARMUP} s with the same load and measures ${SECONDS} s; servers stay up for the run (one process per listener kind); contenders take turns, the first rotating each run.`,
    'A handshake is a whole connection: TCP connect, the TLS handshake (TLS 1.3, X25519, an RSA-2048 signature when full), one `GET /` with `Connection: close` and its answer checked, the close. With an RSA certificate the server pays the signature and the client only its verification, so the Node generator costs less per handshake than the server.',
    'resumption_rate is counted per connection by the client: of the connections that offered a ticket, those the server resumed (`isSessionReused()`), wherever the ticket came from.',
    `The generator shares the ${CORES} cores with the server (CPU generator: its CPU per operation). Throughput says who won the cores; CPU per operation what each server costs.`,
  );
for (const { name, title, kind } of SCENARIOS) {
  const [unit, operation] = kind === 'https' ? ['handshakes/s', 'handshake'] : ['req/s', 'request'];
  report.scenario({ name, title, unit, operation, baseline: 'node-cluster' });
}
const only = typeof args.values.only === 'string' ? args.values.only.split(',') : null;
const contenders = CONTENDERS.filter((c) => only?.includes(c.name) ?? true);
const noH2load = commandExists('h2load') ? null : 'h2load is not installed (Debian package nghttp2-client)';
if (noH2load !== null) for (const c of contenders) report.skip('h2', c.name, c.description, noH2load);
const scenarios = SCENARIOS.filter((s) => s.kind !== 'http2' || noH2load === null);

type Outcome = (HandshakeResult | H2Result) & Partial<Pick<HandshakeResult, 'offered' | 'resumed'>>;

function generatorCommand(server: Server, scenario: Scenario): readonly string[] {
  if (scenario.kind === 'http2') {
    const job: H2Job = {
      port: server.port,
      clients: H2_CLIENTS,
      streams: MAX_STREAMS,
      threads: CORES,
      seconds: SECONDS,
      warmupSeconds: WARMUP,
    };
    return nodeCommand(script('./tls/h2load.ts'), [JSON.stringify(job)]);
  }
  const job: HandshakeJob = {
    port: server.port,
    threads: HANDSHAKE_THREADS,
    perThread: IN_FLIGHT_PER_THREAD,
    seconds: SECONDS,
    warmupSeconds: WARMUP,
    resume: scenario.resume,
  };
  return nodeCommand(script('./tls/handshakes.ts'), [JSON.stringify(job)]);
}

async function measure(server: Server, contender: TlsContender, scenario: Scenario): Promise<void> {
  const generator = new Child('load generator', generatorCommand(server, scenario));
  const meter = server.meter();
  try {
    await generator.json(30_000); // the warm-up is over
    meter.start();
    const result = await generator.json<Outcome>((SECONDS + 30) * 1000);
    const use = meter.stop();
    const { byRole, wallSeconds } = use;
    const { others, notes: disturbed } = disturbance(use, result.cpuSeconds);
    const notes = [
      ...Object.entries(result.problems).map(([what, count]) => `PROBLEM: ${count} ${what} in a run`),
      ...disturbed,
    ];
    const rate =
      result.offered === undefined || result.offered === 0 ? null : result.resumed! / result.offered;
    const resumption: Record<string, number> = rate === null ? {} : { resumption_rate: rate };
    const cpu = perOperation({ ...byRole, generator: result.cpuSeconds }, result.ok);
    if (cpu.generator! > cpu.server!)
      notes.push('the load generator spent more CPU per operation than the server: it may be the limit');
    report.add(scenario.name, contender.name, contender.description, {
      value: result.ok / result.seconds,
      metrics: {
        ...resumption,
        server_cores: byRole.server! / wallSeconds,
        generator_cores: result.cpuSeconds / wallSeconds,
        others_cores: others,
      },
      cpu,
      notes,
    });
    console.log(
      `  ${scenario.name} ${contender.name}: ${(result.ok / result.seconds).toFixed(0)}/s, ${cpu.server!.toFixed(1)} µs${rate === null ? '' : `, resumed ${(rate * 100).toFixed(1)}%`}`,
    );
  } finally {
    await generator.stop();
  }
}

const credentials = await writeCredentials();
console.log(`TLS on ${CORES} cores, Node ${process.version}: ${contenders.map((c) => c.name).join(', ')}`);
for (let run = 0; run < args.runs; run++) {
  console.log(`run ${run + 1}/${args.runs}`);
  const servers = new Map<string, Server>();
  try {
    for (const contender of contenders) {
      for (const kind of new Set(scenarios.map((s) => s.kind))) {
        const server = await startServer(`${contender.name} ${kind}`, contender.command(kind, credentials), {
          mainRole: contender.mainRole,
        });
        servers.set(`${contender.name} ${kind}`, server);
      }
    }
    const order = [
      ...contenders.slice(run % contenders.length),
      ...contenders.slice(0, run % contenders.length),
    ];
    for (const scenario of scenarios) {
      for (const contender of order)
        await measure(servers.get(`${contender.name} ${scenario.kind}`)!, contender, scenario);
    }
  } finally {
    await Promise.all([...servers.values()].map((server) => server.stop()));
  }
}

report
  .ratio('tls_full_vs_cluster', 'full: sockshard / node-cluster', { atLeast: 0.9, key: true })
  .ratio('tls_resumed_vs_cluster', 'resumed: sockshard / node-cluster', { key: true })
  .figure('resumption_rate', '×', 'resumed metrics.resumption_rate: sockshard', {
    atLeast: 1,
    key: true,
    higherIsBetter: true,
    explain: 'sockshard: the share of connections offering a ticket that resumed, across its shards',
  })
  .figure('cluster_resumption_rate', '×', 'resumed metrics.resumption_rate: node-cluster', {
    key: true,
    higherIsBetter: true,
    explain: 'node:cluster: the share of connections offering a ticket that resumed, across its workers',
  })
  .figure('single_resumption_rate', '×', 'resumed metrics.resumption_rate: node-single', {
    higherIsBetter: true,
    explain: 'node:https on one thread: the share of connections offering a ticket that resumed',
  })
  .ratio('h2_vs_cluster', 'h2: sockshard / node-cluster', { atLeast: 1, key: true })
  .ratio('tls_full_vs_single', 'full: sockshard / node-single')
  .ratio('tls_resumed_vs_single', 'resumed: sockshard / node-single')
  .ratio('h2_vs_single', 'h2: sockshard / node-single')
  .ratio('tls_full_cpu_vs_cluster', 'full cpu.server: sockshard / node-cluster', { key: true })
  .ratio('tls_resumed_cpu_vs_cluster', 'resumed cpu.server: sockshard / node-cluster')
  .ratio('h2_cpu_vs_cluster', 'h2 cpu.server: sockshard / node-cluster', { key: true })
  .figure('coordinator_us_per_handshake', 'µs', 'full cpu.coordinator: sockshard')
  .figure('cluster_primary_us_per_handshake', 'µs', 'full cpu.primary: node-cluster')
  .write();
