import type { EngineStats } from './engine-stats.js';
import type { EngineState, ShardState } from './supervisor.js';

/** Every value of the state enums, so that each gets a sample (1 for the current one, 0 for the others). */
const ENGINE_STATES: readonly EngineState[] = [
  'idle',
  'starting',
  'serving',
  'degraded',
  'failed',
  'closing',
  'closed',
];
const SHARD_STATES: readonly ShardState[] = ['starting', 'serving', 'restarting', 'given-up', 'stopped'];

/** One Prometheus metric: name, help, type, and a value per label set. */
interface Metric {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge';
  readonly samples: readonly (readonly [labels: string, value: number])[];
}

const SHARD_METRICS = [
  ['connections', 'gauge', 'Open connections'],
  ['handedOff', 'counter', 'Connections the coordinator handed to the shard'],
  ['accepted', 'counter', "Connections the shard accepted itself (balance 'kernel')"],
  ['closed', 'counter', 'Connections closed'],
  ['requests', 'counter', 'HTTP requests received'],
  ['handlerErrors', 'counter', 'Handler throws and rejections'],
  ['socketErrors', 'counter', 'Client socket errors (resets, broken pipes)'],
  ['idleTimeouts', 'counter', 'Connections ended by the idle timeout'],
  ['httpTimeouts', 'counter', 'HTTP 408s for slow headers or requests'],
  ['httpBadRequests', 'counter', 'HTTP 400/431s for malformed requests'],
  ['kernelRefused', 'counter', "Connections over the per-shard cap (balance 'kernel')"],
  ['tlsHandshakes', 'counter', 'TLS handshakes completed'],
  ['tlsResumed', 'counter', 'TLS handshakes that resumed a session (a ticket)'],
  ['tlsErrors', 'counter', 'TLS handshakes that failed or timed out'],
  ['h2Sessions', 'counter', 'HTTP/2 sessions started'],
  ['h2SessionsCut', 'counter', 'HTTP/2 sessions ended for a protocol error or abuse'],
  ['restarts', 'counter', 'Times the shard was restarted'],
  ['restartsFromSpare', 'counter', 'Restarts the standing-by spare worker took (no cold start)'],
  ['connectionsLost', 'counter', 'Connections open on the shard when it died'],
  ['shardMessagesOut', 'counter', 'sendToShard messages sent'],
  ['meshFull', 'counter', 'sendToShard messages refused: ring full'],
] as const;

const LISTENER_METRICS = [
  ['accepted', 'Connections accepted by the coordinator'],
  ['dropped', 'Connections closed at once: no live shard or control ring full'],
  ['refusedMaxConnections', 'Connections refused by maxConnections'],
  ['refusedShardsFull', 'Connections refused: every shard at maxConnectionsPerShard'],
  ['refusedPerAddress', 'Connections refused by maxConnectionsPerAddress'],
  ['acceptErrors', 'Accepts that failed (EMFILE and the like), each pausing accepting for 100 ms'],
] as const;

const PROXY_METRICS = [
  ['read', 'PROXY protocol headers read'],
  ['refused', 'PROXY protocol connections from a source outside proxyProtocol.from'],
  ['missing', 'PROXY protocol connections that sent no header'],
  ['malformed', 'PROXY protocol headers the spec does not allow'],
  ['oversized', 'PROXY protocol headers over the size limit'],
  ['truncated', 'PROXY protocol connections closed before a whole header'],
  ['timedOut', 'PROXY protocol headers not complete in time'],
] as const;

const UDP_METRICS = [
  ['datagramsIn', 'Datagrams received'],
  ['bytesIn', 'Bytes received'],
  ['datagramsOut', 'Datagrams sent'],
  ['bytesOut', 'Bytes sent'],
  ['oversized', 'Datagrams over maxDatagram, dropped'],
  ['handlerErrors', 'Handler throws and rejections'],
  ['sendErrors', 'Sends the kernel refused'],
  ['kernelDrops', 'Datagrams the kernel dropped (receive buffer full)'],
] as const;

const snake = (name: string) => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** Renders a stats snapshot in the Prometheus text exposition format (version 0.0.4). */
export function renderMetrics(stats: EngineStats): string {
  const metrics: Metric[] = [];
  for (const [key, type, help] of SHARD_METRICS) {
    metrics.push({
      name: `sockshard_shard_${snake(key)}${type === 'counter' ? '_total' : ''}`,
      help,
      type,
      samples: stats.shards.map((shard) => [`shard="${shard.shardId}"`, shard[key]] as const),
    });
  }
  metrics.push({
    name: 'sockshard_shard_up',
    help: 'Whether the shard takes new connections',
    type: 'gauge',
    samples: stats.shards.map((shard) => [`shard="${shard.shardId}"`, shard.alive ? 1 : 0] as const),
  });
  metrics.push({
    name: 'sockshard_shard_state',
    help: 'The shard as supervision sees it: 1 for its current state',
    type: 'gauge',
    samples: stats.shards.flatMap((shard) =>
      SHARD_STATES.map(
        (state) => [`shard="${shard.shardId}",state="${state}"`, shard.state === state ? 1 : 0] as const,
      ),
    ),
  });
  metrics.push({
    name: 'sockshard_engine_state',
    help: 'The engine: serving (every shard serves), degraded, failed, ...: 1 for its current state',
    type: 'gauge',
    samples: ENGINE_STATES.map((state) => [`state="${state}"`, stats.state === state ? 1 : 0] as const),
  });
  metrics.push({
    name: 'sockshard_shard_generation',
    help: 'The rolling reload whose code the shard runs (0: the code the engine started with)',
    type: 'gauge',
    samples: stats.shards.map((shard) => [`shard="${shard.shardId}"`, shard.generation] as const),
  });
  metrics.push({
    name: 'sockshard_spare_up',
    help: 'Whether a spare shard worker stands by to replace a dead shard',
    type: 'gauge',
    samples: [['', stats.spareStandingBy ? 1 : 0]],
  });
  for (const [key, help] of LISTENER_METRICS) {
    metrics.push({
      name: `sockshard_listener_${snake(key)}_total`,
      help,
      type: 'counter',
      samples: stats.listeners.map(
        (l) => [`listener="${l.id}",kind="${l.kind}",port="${l.port}"`, l[key]] as const,
      ),
    });
  }
  const proxied = stats.listeners.filter((l) => l.proxy !== undefined);
  for (const [key, help] of PROXY_METRICS) {
    metrics.push({
      name: `sockshard_listener_proxy_${snake(key)}_total`,
      help,
      type: 'counter',
      samples: proxied.map(
        (l) => [`listener="${l.id}",kind="${l.kind}",port="${l.port}"`, l.proxy![key]] as const,
      ),
    });
  }
  for (const [key, help] of UDP_METRICS) {
    metrics.push({
      name: `sockshard_udp_${snake(key)}_total`,
      help,
      type: 'counter',
      samples: stats.udp.map((p) => [`listener="${p.listenerId}",port="${p.port}"`, p[key]] as const),
    });
  }
  const lines: string[] = [];
  for (const metric of metrics) {
    if (metric.samples.length === 0) continue;
    lines.push(`# HELP ${metric.name} ${metric.help}`, `# TYPE ${metric.name} ${metric.type}`);
    for (const [labels, value] of metric.samples) {
      lines.push(`${metric.name}${labels === '' ? '' : `{${labels}}`} ${value}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
