import {
  COUNTER_ACCEPTED,
  COUNTER_ADOPT_FAILED,
  COUNTER_ADOPTED,
  COUNTER_CLOSED,
  COUNTER_H2_SESSIONS,
  COUNTER_H2_SESSIONS_CUT,
  COUNTER_H2_STREAMS,
  COUNTER_HANDLER_ERRORS,
  COUNTER_HTTP_BAD_REQUESTS,
  COUNTER_HTTP_TIMEOUTS,
  COUNTER_IDLE_TIMEOUTS,
  COUNTER_KERNEL_REFUSED,
  COUNTER_MESH_FULL,
  COUNTER_REQUESTS,
  COUNTER_SHARD_MESSAGES_IN,
  COUNTER_SHARD_MESSAGES_OUT,
  COUNTER_SOCKET_ERRORS,
  COUNTER_TLS_ERRORS,
  COUNTER_TLS_HANDSHAKES,
  COUNTER_TLS_RESUMED,
  UDP_BYTES_IN,
  UDP_BYTES_OUT,
  UDP_DATAGRAMS_IN,
  UDP_DATAGRAMS_OUT,
  UDP_HANDLER_ERRORS,
  UDP_OVERSIZED,
  UDP_PEER_UNREACHABLE,
  UDP_SEND_ERRORS,
  type UdpPortCounts,
  udpCounterBase,
} from '../protocol.js';
import { type RingStats, readRingStats } from '../ring/index.js';
import type { Acceptor } from './acceptor.js';
import type { IcmpStats } from './icmp-router.js';
import type { SocketOrigin } from './inherited-sockets.js';
import type { BalanceStrategy, StreamKind } from './options.js';
import type { ShardHandle } from './shard-handle.js';
import type { EngineState, ShardState } from './supervisor.js';
import type { UdpBinding } from './udp-binder.js';

/**
 * One shard's counters, read from shared memory.
 *
 * @example
 * ```ts
 * const { shards } = engine.stats();
 * for (const shard of shards) console.log(shard.shardId, shard.alive, shard.connections, shard.restarts);
 * ```
 */
export interface ShardStats {
  readonly shardId: number;
  /** What supervision says of it: serving, restarting, given up, ... (see ShardState). */
  readonly state: ShardState;
  /** Taking new connections (started, not dead, not draining). */
  readonly alive: boolean;
  /** Open now: handed off or accepted, not yet closed. */
  readonly connections: number;
  /** Times this shard was restarted after it died. */
  readonly restarts: number;
  /**
   * Of `restarts`, those the standing-by spare worker took over (its handler modules imported already: no
   * cold start). Fewer than `restarts` means a shard died while no spare stood by (`restart.spare`).
   */
  readonly restartsFromSpare: number;
  /** The rolling reload whose code this shard runs: 0 for the code the engine started with. */
  readonly generation: number;
  /**
   * Connections that were open on this shard when it died: adopted, or (once it is given up) still
   * waiting in its control ring, which the coordinator then closes.
   */
  readonly connectionsLost: number;
  /** Connections the coordinator wrote to this shard's control ring. */
  readonly handedOff: number;
  /** Handed-off connections the shard has adopted. */
  readonly adopted: number;
  /** Connections the shard accepted itself (balance 'kernel'). */
  readonly accepted: number;
  readonly closed: number;
  /** HTTP requests received. */
  readonly requests: number;
  /** Handler throws and rejections. */
  readonly handlerErrors: number;
  /** Client-side socket errors (resets, broken pipes), and HTTP clients that broke off mid-request. */
  readonly socketErrors: number;
  /** Handed-off fds the shard could not use (closed). */
  readonly adoptFailed: number;
  /** `sendToShard` messages this shard sent, received, and had refused because the ring was full. */
  readonly shardMessagesOut: number;
  readonly shardMessagesIn: number;
  readonly meshFull: number;
  /** Connections ended by idleTimeoutMs. */
  readonly idleTimeouts: number;
  /** HTTP 408s: headers or request too slow (headersTimeout, requestTimeout). */
  readonly httpTimeouts: number;
  /** HTTP 400/431s: malformed requests, headers too large (a request cut short is a socket error). */
  readonly httpBadRequests: number;
  /** balance 'kernel': connections over maxConnectionsPerShard, closed at once. */
  readonly kernelRefused: number;
  /** TLS handshakes completed, and of those, sessions resumed from a ticket (any shard's). */
  readonly tlsHandshakes: number;
  readonly tlsResumed: number;
  /** TLS handshakes that failed or timed out. */
  readonly tlsErrors: number;
  /** HTTP/2 sessions started, and streams received. */
  readonly h2Sessions: number;
  readonly h2Streams: number;
  /** HTTP/2 sessions ended for a protocol error or abuse: garbage, oversized headers, a reset flood. */
  readonly h2SessionsCut: number;
  readonly controlRing: RingStats;
}

/**
 * One UDP port, summed over the shards that serve it.
 *
 * @example
 * ```ts
 * for (const port of engine.udpPorts()) console.log(port.port, port.io, port.datagramsIn, port.kernelDrops);
 * ```
 */
export interface UdpPortStats extends UdpPortCounts {
  readonly listenerId: number;
  readonly port: number;
  /**
   * The shards serving the port: one, or all of them with reusePort; fewer once a shard is given up (its
   * one-owner ports move to a serving shard). The counters below are summed over every shard that served it.
   */
  readonly shards: readonly number[];
  /** Where its socket came from: bound by this engine, from systemd, or from a predecessor (hand-over). */
  readonly socket: SocketOrigin;
  /** `dgram` (node:dgram) or `batched` (native recvmmsg/sendmmsg). */
  readonly io: 'dgram' | 'batched';
  /** Dropped by the kernel before any shard saw them (receive buffer full), from /proc/net/udp. */
  readonly kernelDrops: number;
  /** ICMP unreachables about datagrams this port sent (counted when the engine serves ICMP). */
  readonly peerUnreachable: number;
}

/**
 * A PROXY protocol listener's headers: read, and each way a connection was refused for its header.
 *
 * @example
 * ```ts
 * for (const listener of engine.stats().listeners) {
 *   if (listener.proxy !== undefined) console.log(listener.port, listener.proxy.read, listener.proxy.refused);
 * }
 * ```
 */
export interface ProxyStats {
  /** Headers read and consumed (with the client's address, or LOCAL/UNKNOWN: the balancer's own). */
  readonly read: number;
  /** From a source not in `proxyProtocol.from`: refused before a byte was read. */
  readonly refused: number;
  /** The first bytes were no PROXY header. */
  readonly missing: number;
  /** A signature, then what the spec does not allow. */
  readonly malformed: number;
  /** Longer than the spec's v1 line or `maxHeaderBytes`. */
  readonly oversized: number;
  /** The peer closed or reset before a whole header. */
  readonly truncated: number;
  /** Not complete within `proxyProtocol.timeoutMs`. */
  readonly timedOut: number;
}

/**
 * A TCP, HTTP, TLS, HTTPS or HTTP/2 listener's counters, from the coordinator's acceptor.
 *
 * @example
 * ```ts
 * const [listener] = engine.stats().listeners;
 * console.log(listener?.accepted, listener?.dropped, listener?.refusedMaxConnections);
 * ```
 */
export interface ListenerStats {
  readonly id: number;
  readonly kind: StreamKind;
  readonly host: string;
  readonly port: number;
  readonly balance: BalanceStrategy;
  /** Where its socket came from: bound by this engine, from systemd, or from a predecessor (hand-over). */
  readonly socket: SocketOrigin;
  /** Accepted by the coordinator (0 for 'kernel', where shards accept). */
  readonly accepted: number;
  /** Accepted and closed at once: no live shard, or its control ring was full. */
  readonly dropped: number;
  /** Accepted and closed at once for a limit: maxConnections, every shard at maxConnectionsPerShard, maxConnectionsPerAddress. */
  readonly refusedMaxConnections: number;
  readonly refusedShardsFull: number;
  readonly refusedPerAddress: number;
  /**
   * Accepts that failed (EMFILE: the process is out of fds; ENFILE, ENOBUFS, ENOMEM): each pauses accepting
   * for 100 ms, the connections waiting in the kernel's backlog. The engine's 'error' event reports the
   * first, then at most one every 10 s while they go on.
   */
  readonly acceptErrors: number;
  /** PROXY protocol listeners only. */
  readonly proxy?: ProxyStats;
}

/**
 * Every shard's counters summed.
 *
 * @example
 * ```ts
 * const { total } = engine.stats();
 * console.log(`${total.connections} open, ${total.requests} requests, ${total.handlerErrors} failed`);
 * ```
 */
export type EngineTotals = Omit<ShardStats, 'shardId' | 'state' | 'alive' | 'generation' | 'controlRing'>;

/**
 * A snapshot read from shared memory: no message goes to any shard.
 *
 * @example
 * ```ts
 * import { createEngine } from 'sockshard';
 * const engine = createEngine({ shards: 2 });
 * engine.http({ port: 8080, handler: './app.js' });
 * await engine.start();
 * setInterval(() => console.log(JSON.stringify(engine.stats().total)), 1_000).unref();
 * ```
 */
export interface EngineStats {
  /** The engine's state (as `engine.state`): serving, degraded, failed, ... */
  readonly state: EngineState;
  readonly shards: readonly ShardStats[];
  readonly total: EngineTotals;
  readonly listeners: readonly ListenerStats[];
  readonly udp: readonly UdpPortStats[];
  /** Present when the engine serves ICMP. */
  readonly icmp?: IcmpStats;
  /** A spare shard worker stands by to replace the next shard that dies (`restart.spare`). */
  readonly spareStandingBy: boolean;
}

export function shardStats(shard: ShardHandle, state: ShardState): ShardStats {
  const accepted = shard.counter(COUNTER_ACCEPTED);
  const closed = shard.counter(COUNTER_CLOSED);
  return {
    shardId: shard.id,
    state,
    alive: shard.alive,
    connections: shard.openConnections(),
    restarts: shard.restarts,
    restartsFromSpare: shard.restartsFromSpare,
    generation: shard.generation,
    connectionsLost: shard.connectionsLost,
    handedOff: shard.handedOff,
    adopted: shard.counter(COUNTER_ADOPTED),
    accepted,
    closed,
    requests: shard.counter(COUNTER_REQUESTS),
    handlerErrors: shard.counter(COUNTER_HANDLER_ERRORS),
    socketErrors: shard.counter(COUNTER_SOCKET_ERRORS),
    adoptFailed: shard.counter(COUNTER_ADOPT_FAILED),
    shardMessagesOut: shard.counter(COUNTER_SHARD_MESSAGES_OUT),
    shardMessagesIn: shard.counter(COUNTER_SHARD_MESSAGES_IN),
    meshFull: shard.counter(COUNTER_MESH_FULL),
    idleTimeouts: shard.counter(COUNTER_IDLE_TIMEOUTS),
    httpTimeouts: shard.counter(COUNTER_HTTP_TIMEOUTS),
    httpBadRequests: shard.counter(COUNTER_HTTP_BAD_REQUESTS),
    kernelRefused: shard.counter(COUNTER_KERNEL_REFUSED),
    tlsHandshakes: shard.counter(COUNTER_TLS_HANDSHAKES),
    tlsResumed: shard.counter(COUNTER_TLS_RESUMED),
    tlsErrors: shard.counter(COUNTER_TLS_ERRORS),
    h2Sessions: shard.counter(COUNTER_H2_SESSIONS),
    h2Streams: shard.counter(COUNTER_H2_STREAMS),
    h2SessionsCut: shard.counter(COUNTER_H2_SESSIONS_CUT),
    controlRing: readRingStats(shard.controlRing),
  };
}

/** `drops`: readUdpDrops(), read once for the whole snapshot. */
export function udpPortStats(
  binding: UdpBinding,
  counters: Float64Array,
  shards: number,
  drops: ReadonlyMap<string, number>,
): UdpPortStats {
  // Every shard's line: a line stays zero until its shard serves the port, and keeps its counts after.
  const sum = (counter: number) => {
    let total = 0;
    for (let shardId = 0; shardId < shards; shardId++)
      total += counters[udpCounterBase(binding.portIndex, shards, shardId) + counter]!;
    return total;
  };
  return {
    listenerId: binding.listenerId,
    port: binding.port,
    shards: [...binding.shards],
    socket: binding.origin,
    io: binding.io,
    datagramsIn: sum(UDP_DATAGRAMS_IN),
    bytesIn: sum(UDP_BYTES_IN),
    datagramsOut: sum(UDP_DATAGRAMS_OUT),
    bytesOut: sum(UDP_BYTES_OUT),
    oversized: sum(UDP_OVERSIZED),
    handlerErrors: sum(UDP_HANDLER_ERRORS),
    sendErrors: sum(UDP_SEND_ERRORS),
    kernelDrops: binding.inodes.reduce((total, inode) => total + (drops.get(inode) ?? 0), 0),
    peerUnreachable: sum(UDP_PEER_UNREACHABLE),
  };
}

export function engineStats(
  state: EngineState,
  shards: readonly ShardHandle[],
  shardState: (shardId: number) => ShardState,
  listeners: readonly { readonly stats: ListenerStats }[],
  udp: readonly UdpPortStats[],
  spareStandingBy: boolean,
  icmp?: IcmpStats,
): EngineStats {
  const perShard = shards.map((shard) => shardStats(shard, shardState(shard.id)));
  const total: Record<keyof EngineTotals, number> = {
    connections: 0,
    restarts: 0,
    restartsFromSpare: 0,
    connectionsLost: 0,
    handedOff: 0,
    adopted: 0,
    accepted: 0,
    closed: 0,
    requests: 0,
    handlerErrors: 0,
    socketErrors: 0,
    adoptFailed: 0,
    shardMessagesOut: 0,
    shardMessagesIn: 0,
    meshFull: 0,
    idleTimeouts: 0,
    httpTimeouts: 0,
    httpBadRequests: 0,
    kernelRefused: 0,
    tlsHandshakes: 0,
    tlsResumed: 0,
    tlsErrors: 0,
    h2Sessions: 0,
    h2Streams: 0,
    h2SessionsCut: 0,
  };
  for (const shard of perShard) {
    for (const key of Object.keys(total) as (keyof EngineTotals)[]) total[key] += shard[key];
  }
  return {
    state,
    shards: perShard,
    total,
    listeners: listeners.map((listener) => listener.stats),
    udp,
    spareStandingBy,
    ...(icmp === undefined ? {} : { icmp }),
  };
}

export function listenerStats(
  listener: {
    readonly id: number;
    readonly kind: StreamKind;
    readonly host: string;
    readonly balance: BalanceStrategy;
  },
  port: number,
  socket: SocketOrigin,
  acceptor: Acceptor | undefined,
): ListenerStats {
  return {
    id: listener.id,
    kind: listener.kind,
    host: listener.host,
    port,
    balance: listener.balance,
    socket,
    accepted: acceptor?.accepted ?? 0,
    dropped: acceptor?.dropped ?? 0,
    refusedMaxConnections: acceptor?.refusedMaxConnections ?? 0,
    refusedShardsFull: acceptor?.refusedShardsFull ?? 0,
    refusedPerAddress: acceptor?.refusedPerAddress ?? 0,
    acceptErrors: acceptor?.acceptErrors ?? 0,
    ...(acceptor?.proxy === undefined ? {} : { proxy: acceptor.proxy.stats() }),
  };
}
