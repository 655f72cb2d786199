import type { ListenerSpec } from '../protocol.js';
import type { ResolvedIcmpListener, ResolvedListener, ResolvedUdpListener } from './options.js';

/** The listeners an engine serves, as `engine.tcp()`/`.http()`/`.tls()`/`.https()`/`.http2()`, `.udp()` and `.icmp()` resolved them. */
export interface EngineListeners {
  readonly stream: readonly ResolvedListener[];
  readonly udp: readonly ResolvedUdpListener[];
  readonly icmp: ResolvedIcmpListener | undefined;
  /** limits.maxConnectionsPerShard, which a shard applies itself with balance 'kernel'. */
  readonly maxConnectionsPerShard: number;
}

/**
 * What every shard is told about the listeners (structured-clone safe, in listener id order): the kind,
 * the handler module, and the settings the kind's module in the shard applies (see ListenerSpec).
 */
export function listenerSpecs(listeners: EngineListeners): ListenerSpec[] {
  const stream = listeners.stream.map(
    (config): ListenerSpec => ({
      id: config.id,
      kind: config.http?.api === 'fast' ? 'fast-http' : config.kind,
      handler: config.handler,
      ...(config.http === undefined ? {} : { http: config.http }),
      ...(config.tls === undefined ? {} : { tls: config.tls }),
      ...(config.http2 === undefined ? {} : { http2: config.http2 }),
      ...(config.balance === 'kernel'
        ? { kernel: { maxConnections: listeners.maxConnectionsPerShard } }
        : {}),
      ...(config.idleTimeoutMs === 0 ? {} : { idleTimeoutMs: config.idleTimeoutMs }),
    }),
  );
  const udp = listeners.udp.map(
    (config): ListenerSpec => ({
      id: config.id,
      kind: 'udp',
      handler: config.handler,
      udp: {
        family: config.family,
        io: config.io,
        maxDatagram: config.maxDatagram,
        ...(config.recvBufferSize === undefined ? {} : { recvBufferSize: config.recvBufferSize }),
        ...(config.sendBufferSize === undefined ? {} : { sendBufferSize: config.sendBufferSize }),
      },
    }),
  );
  const { icmp } = listeners;
  const icmpSpecs: ListenerSpec[] =
    icmp?.handler === undefined ? [] : [{ id: icmp.id, kind: 'icmp', handler: icmp.handler }];
  return [...stream, ...udp, ...icmpSpecs].sort((a, b) => a.id - b.id);
}
