/**
 * What a handler module exports. A handler module is a file that sockshard imports in every shard; its
 * default export is built with `defineTcpHandler` or `defineHttpHandler`, which only add types.
 *
 * @example
 * ```ts
 * // echo.ts
 * import { defineTcpHandler } from 'sockshard';
 * export default defineTcpHandler({
 *   connection(socket) {
 *     socket.pipe(socket);
 *   },
 * });
 * ```
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { TransferListItem } from 'node:worker_threads';
import type { EchoPacket, IcmpErrorPacket, OtherIcmpPacket } from './icmp/icmp-packet.js';
import type { PingOptions, PingResult } from './icmp/ping-options.js';

/** Where a handler runs: its shard, and the listener that delivered the connection. */
export interface ShardContext {
  /** This shard's index, 0..shards-1. */
  readonly shardId: number;
  /** How many shards the engine runs. */
  readonly shards: number;
  /** The listener, numbered from 0 in the order `engine.tcp()`, `.http()` and `.udp()` were called. */
  readonly listenerId: number;
  /**
   * Sends `data` to a handler on another shard over the ring mesh (one SPSC ring per ordered pair of
   * shards; the bytes are copied once, into the ring). It arrives at that shard's `shardMessage` hook of
   * listener `listenerId` (default: this listener), in order. Returns false, and counts it, when the ring
   * to that shard is full: the caller decides whether to retry, drop or push back.
   */
  sendToShard(shardId: number, data: Uint8Array, listenerId?: number): boolean;
  /**
   * Pings an IPv4 address through the coordinator's raw ICMP socket (needs `engine.icmp()` and
   * CAP_NET_RAW): `count` echo requests every `intervalMs`, each given `timeoutMs`; resolves with per-probe
   * outcomes and ping-style statistics (loss, min/avg/max/mdev). Rejects with ERR_ICMP_UNAVAILABLE when the
   * engine does not serve ICMP.
   */
  ping(host: string, options?: PingOptions): Promise<PingResult>;
  /**
   * Runs the engine's offload task module on `input` in this shard's piscina pool and resolves with its
   * result, so CPU-heavy work does not stall the shard's event loop. `input` and the result are copied
   * (structured clone) unless listed in `options.transfer`. Rejects with ERR_OFFLOAD (the task threw),
   * ERR_OFFLOAD_TIMEOUT, or ERR_OFFLOAD_UNAVAILABLE (no `offload` option on the engine).
   */
  offload<Output = unknown, Input = unknown>(input: Input, options?: OffloadOptions): Promise<Output>;
}

export interface OffloadOptions {
  /** ArrayBuffers (and other transferables) to move to the pool thread instead of copying. */
  readonly transfer?: readonly TransferListItem[];
  /** Overrides the engine's `offload.timeoutMs` for this task; 0 = none. */
  readonly timeoutMs?: number;
}

/** Receives what other shards sent with `context.sendToShard`. */
export interface ShardMessageHook {
  /** `data` is a read-only view into the ring, valid only until this call returns: copy what you keep. */
  shardMessage?(data: Uint8Array, fromShard: number, context: ShardContext): void;
}

export interface TcpHandler extends ShardMessageHook {
  /**
   * A new connection, already adopted by this shard. A throw (or a rejected promise) destroys this
   * connection and is reported through the engine's `handler-error` event; the shard serves on.
   */
  connection(socket: Socket, context: ShardContext): void | Promise<void>;
  /** Called once per shard before it accepts connections; a throw fails `engine.start()`. */
  setup?(context: ShardContext): void | Promise<void>;
  /** `engine.close()` began: finish or end connections gently; whatever is still open at the timeout is destroyed. */
  drain?(context: ShardContext): void | Promise<void>;
}

export type HttpRequestHandler = (
  request: IncomingMessage,
  response: ServerResponse,
  context: ShardContext,
) => void | Promise<void>;

export interface HttpHandler extends ShardMessageHook {
  /**
   * One request. A throw or a rejected promise answers 500 (if nothing was sent yet), ends that connection
   * and is reported through the engine's `handler-error` event; the shard serves on.
   */
  request: HttpRequestHandler;
  /** Called once per shard with its `node:http` server (add 'upgrade' listeners and such here). */
  setup?(context: ShardContext, server: Server): void | Promise<void>;
}

/** Types a TCP handler module's default export. */
export function defineTcpHandler<T extends TcpHandler>(handler: T): T {
  return handler;
}

/** Types an HTTP handler module's default export; a bare request function is accepted too. */
export function defineHttpHandler(handler: HttpHandler | HttpRequestHandler): HttpHandler {
  return typeof handler === 'function' ? { request: handler } : handler;
}

/** The sender of a datagram. */
export interface UdpPeer {
  readonly address: string;
  readonly port: number;
  readonly family: 4 | 6;
}

export interface UdpContext extends ShardContext {
  /** The local port the datagram arrived on. */
  readonly port: number;
  /**
   * Sends `data` to `peer` from the port the datagram arrived on. Never throws for a peer the network gave
   * you: a peer that cannot be sent to (source port 0: it expects no reply, RFC 768) is dropped and counted
   * in the port's `sendErrors`, as is any send the kernel refuses.
   */
  reply(peer: UdpPeer, data: Uint8Array): void;
  /** Sends `data` to `host:port` from this context's port. */
  send(port: number, host: string, data: Uint8Array): void;
}

export interface UdpHandler extends ShardMessageHook {
  /**
   * One datagram. `data` may be reused after this call returns (the batched path hands out views into
   * shared memory): copy what you keep. A throw or a rejection is counted and reported; the port serves on.
   */
  message(data: Uint8Array, peer: UdpPeer, context: UdpContext): void | Promise<void>;
  /** Called once per shard before its sockets open; a throw fails `engine.start()`. */
  setup?(context: ShardContext): void | Promise<void>;
}

/** Types a UDP handler module's default export. */
export function defineUdpHandler<T extends UdpHandler>(handler: T): T {
  return handler;
}

/**
 * ICMP packets routed to this shard: echo replies and requests by identifier (this shard's range),
 * destination-unreachable and time-exceeded by the port in the quoted UDP/TCP header (the shard that owns
 * that port). Each packet is a zero-copy view into a ring, valid only during the call.
 */
export interface IcmpHandler extends ShardMessageHook {
  echoReply?(packet: EchoPacket, context: ShardContext): void;
  echoRequest?(packet: EchoPacket, context: ShardContext): void;
  unreachable?(packet: IcmpErrorPacket, context: ShardContext): void;
  timeExceeded?(packet: IcmpErrorPacket, context: ShardContext): void;
  other?(packet: OtherIcmpPacket, context: ShardContext): void;
  setup?(context: ShardContext): void | Promise<void>;
}

/** Types an ICMP handler module's default export. */
export function defineIcmpHandler<T extends IcmpHandler>(handler: T): T {
  return handler;
}
