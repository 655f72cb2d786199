/**
 * icmp-monitor: pings a list of hosts from every shard (`engine.icmp()` + `context.ping()`), shares the
 * results over the ring mesh and serves them as JSON over HTTP. Needs raw sockets: run as root, or grant
 * node CAP_NET_RAW once (`sudo setcap cap_net_raw+ep $(command -v node)`).
 *
 *   npx tsx examples/icmp-monitor.ts [--port 8081] [--shards N] [--host IP]   (= sockshard serve icmp-monitor)
 *   SOCKSHARD_MONITOR_HOSTS=127.0.0.1,127.0.0.2 ... ;  curl http://127.0.0.1:8081/
 */
import { besideExample, type ExampleOptions, type RunningExample } from '../src/cli/example.js';
import { isMain, runExample } from '../src/cli/program.js';
import { createEngine } from '../src/index.js'; // in your project: from 'sockshard'

export const DEFAULT_PORT = 8081;

export interface MonitorOptions extends ExampleOptions {
  /** IPv4 addresses to watch. Default: $SOCKSHARD_MONITOR_HOSTS, else 127.0.0.1. */
  readonly hosts?: readonly string[];
  /** Milliseconds between rounds. Default 1000. */
  readonly intervalMs?: number;
}

export async function start(options: MonitorOptions = {}): Promise<RunningExample> {
  const host = options.host ?? '127.0.0.1';
  const hosts = options.hosts ?? (process.env.SOCKSHARD_MONITOR_HOSTS ?? '127.0.0.1').split(',');
  const handler = besideExample('./icmp-monitor/monitor.js', import.meta.url);
  // Handler modules are loaded by URL in every shard; the query carries their settings.
  handler.searchParams.set('hosts', hosts.join(','));
  handler.searchParams.set('interval', String(options.intervalMs ?? 1_000));
  const engine = createEngine(options.engine)
    .http({ host, port: options.port ?? DEFAULT_PORT, handler })
    .icmp();
  await engine.start();
  return { engine, protocol: 'http', host, port: engine.addresses()[0]!.port };
}

if (isMain(import.meta.url)) process.exitCode = await runExample('icmp-monitor', start);
