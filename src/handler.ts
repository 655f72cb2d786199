/**
 * What a handler module exports. A handler module is a file that sockshard imports in every shard (so its
 * module-level state exists once per shard); its default export fits the kind of listener it serves, and
 * is built with a helper that only adds types:
 * - `defineTcpHandler` for `engine.tcp()`: `connection(socket, context)`, and `setup`, `drain` if wanted;
 * - `defineHttpHandler` for `engine.http()` and `engine.https()`: `request(request, response, context)`
 *   (or just that function), and `setup(context, server)`;
 * - `defineTlsHandler` for `engine.tls()`: `connection(socket, context)` once the handshake is done;
 * - `defineHttp2Handler` for `engine.http2()`: `request(request, response, context)` or
 *   `stream(stream, headers, context)`, and `setup(context, server)`;
 * - `defineUdpHandler` for `engine.udp()`: `message(data, peer, context)`, and `setup`;
 * - `defineIcmpHandler` for `engine.icmp({ handler })`: any of `echoReply`, `echoRequest`, `unreachable`,
 *   `timeExceeded`, `other`, and `setup`.
 *
 * Any kind may add `shardMessage(data, fromShard, context)` to receive what other shards send it with
 * `context.sendToShard()`. A throw or rejection in a handler is the handler's own: it costs the connection,
 * request or datagram at hand and is reported as the engine's `handler-error`; the shard serves on.
 *
 * @example
 * ```ts
 * // echo.ts: engine.tcp({ port: 7000, handler: new URL('./echo.js', import.meta.url) })
 * import { defineTcpHandler } from 'sockshard';
 * export default defineTcpHandler({
 *   connection(socket) {
 *     socket.pipe(socket);
 *   },
 * });
 * ```
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type {
  Http2SecureServer,
  Http2Server,
  Http2ServerRequest,
  Http2ServerResponse,
  IncomingHttpHeaders,
  ServerHttp2Stream,
} from 'node:http2';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { TransferListItem } from 'node:worker_threads';
import type { EchoPacket, IcmpErrorPacket, OtherIcmpPacket } from './icmp/icmp-packet.js';
import type { PingOptions, PingResult } from './icmp/ping-options.js';

/**
 * Where a handler runs: its shard, and the listener that delivered the connection.
 *
 * @example
 * ```ts
 * import { defineTcpHandler } from 'sockshard';
 * // Every line a client sends goes to shard 0, which keeps the one log.
 * export default defineTcpHandler({
 *   connection(socket, context) {
 *     socket.on('data', (data) => context.sendToShard(0, data) || socket.write('busy\n'));
 *   },
 *   shardMessage(data, fromShard) {
 *     console.log(`from shard ${fromShard}: ${new TextDecoder().decode(data)}`);
 *   },
 * });
 * ```
 */
export interface ShardContext {
  /** This shard's index, 0..shards-1. */
  readonly shardId: number;
  /** How many shards the engine runs. */
  readonly shards: number;
  /** The listener: its number in the order of the engine's listener calls (`.tcp()`, `.http()`, `.tls()`, ..., `.icmp()`). */
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

/**
 * How one `context.offload()` task runs.
 *
 * @example
 * ```ts
 * import { defineHttpHandler } from 'sockshard';
 * export default defineHttpHandler(async (request, response, context) => {
 *   const image = new Uint8Array(1 << 20);
 *   const digest = await context.offload<string>(image, { transfer: [image.buffer], timeoutMs: 2_000 });
 *   response.end(digest);
 * });
 * ```
 */
export interface OffloadOptions {
  /** ArrayBuffers (and other transferables) to move to the pool thread instead of copying. */
  readonly transfer?: readonly TransferListItem[];
  /** Overrides the engine's `offload.timeoutMs` for this task; 0 = none. */
  readonly timeoutMs?: number;
}

/**
 * Receives what other shards sent with `context.sendToShard`.
 *
 * @example
 * ```ts
 * import { defineUdpHandler } from 'sockshard';
 * export default defineUdpHandler({
 *   message(data, peer, context) {
 *     context.sendToShard((context.shardId + 1) % context.shards, data);
 *   },
 *   shardMessage(data, fromShard, context) {
 *     console.log(`shard ${context.shardId} got ${data.length} bytes from shard ${fromShard}`);
 *   },
 * });
 * ```
 */
export interface ShardMessageHook {
  /** `data` is a read-only view into the ring, valid only until this call returns: copy what you keep. */
  shardMessage?(data: Uint8Array, fromShard: number, context: ShardContext): void;
}

/**
 * What a TCP handler module's default export has (see `defineTcpHandler`).
 *
 * @example
 * ```ts
 * import { defineTcpHandler } from 'sockshard';
 * export default defineTcpHandler({
 *   connection(socket) {
 *     socket.end('hello\n');
 *   },
 * });
 * ```
 */
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

/**
 * A node:http request listener with the shard's context as third argument.
 *
 * @example
 * ```ts
 * import { defineHttpHandler, type HttpRequestHandler } from 'sockshard';
 * const hello: HttpRequestHandler = (request, response, { shardId }) => response.end(`shard ${shardId}\n`);
 * export default defineHttpHandler(hello);
 * ```
 */
export type HttpRequestHandler = (
  request: IncomingMessage,
  response: ServerResponse,
  context: ShardContext,
) => void | Promise<void>;

/**
 * What an HTTP handler module's default export has (see `defineHttpHandler`).
 *
 * @example
 * ```ts
 * import { defineHttpHandler } from 'sockshard';
 * export default defineHttpHandler({
 *   request(request, response) {
 *     response.end('ok\n');
 *   },
 *   setup(context, server) {
 *     server.on('upgrade', (request, socket) => socket.destroy()); // no WebSockets here
 *   },
 * });
 * ```
 */
export interface HttpHandler extends ShardMessageHook {
  /**
   * One request. A throw or a rejected promise answers 500 (if nothing was sent yet), ends that connection
   * and is reported through the engine's `handler-error` event; the shard serves on.
   */
  request: HttpRequestHandler;
  /**
   * Called once per shard with its `node:http` server (add 'upgrade' listeners and such here); for
   * `engine.https()` once per `node:https` server (two per shard: one per ticket-key period).
   */
  setup?(context: ShardContext, server: Server): void | Promise<void>;
}

/**
 * Types a TCP handler module's default export.
 *
 * @example
 * ```ts
 * // upper.ts: engine.tcp({ port: 7000, handler: new URL('./upper.js', import.meta.url) })
 * import { defineTcpHandler } from 'sockshard';
 * export default defineTcpHandler({
 *   connection(socket, { shardId }) {
 *     socket.write(`shard ${shardId}\n`);
 *     socket.on('data', (data) => socket.write(data.toString().toUpperCase()));
 *   },
 *   drain() {
 *     // engine.close() began: nothing to flush here; open sockets end at its timeout.
 *   },
 * });
 * ```
 */
export function defineTcpHandler<T extends TcpHandler>(handler: T): T {
  return handler;
}

/**
 * Types an HTTP handler module's default export; a bare request function is accepted too.
 *
 * @example
 * ```ts
 * // app.ts: engine.http({ port: 8080, handler: new URL('./app.js', import.meta.url) })
 * import { defineHttpHandler } from 'sockshard';
 * export default defineHttpHandler((request, response, { shardId }) => {
 *   response.end(`hello from shard ${shardId}\n`);
 * });
 * ```
 */
export function defineHttpHandler(handler: HttpHandler | HttpRequestHandler): HttpHandler {
  return typeof handler === 'function' ? { request: handler } : handler;
}

/**
 * A request on the fast HTTP path (`engine.http({ api: 'fast' })`). Its head is decoded lazily from the bytes
 * it arrived in: read the URL and headers during the handler's synchronous run, or return a promise (an
 * async handler's request keeps its head). Reading a synchronously answered request later throws
 * ERR_REQUEST_RELEASED.
 */
export interface FastRequest {
  /** `GET`, `POST`, ... as llhttp parsed it. */
  readonly method: string;
  /** The request target as sent: `/path?query`. */
  readonly url: string;
  /** `url` before any `?`. */
  readonly path: string;
  /** `url` after the first `?` (without it), or `''`. */
  readonly query: string;
  readonly httpVersion: '1.0' | '1.1';
  /** One header by name (any case); repeated headers are joined with `, `. */
  header(name: string): string | undefined;
  /** Every header, names lower-cased, repeated ones joined with `, ` (decoded on first use). */
  readonly headers: Readonly<Record<string, string>>;
  /** Names and values as sent, alternating. */
  readonly rawHeaders: readonly string[];
  /** The whole body (empty for none). Read a body at most once, by one of these three. */
  bytes(): Promise<Uint8Array>;
  /** The whole body as UTF-8 text. */
  text(): Promise<string>;
  /** The body chunk by chunk as it arrives (the connection reads more as you consume). */
  body(): AsyncIterable<Uint8Array>;
}

/** Response headers: a value may repeat (an array gives one header line per item). */
export type FastHeaders = Readonly<Record<string, string | number | readonly string[] | undefined>>;

/**
 * A response body: text (sent as UTF-8), bytes, or an async iterable of either, streamed with chunked
 * transfer coding (HTTP/1.0: until the connection closes). A fixed body gets `content-length`.
 */
export type FastBody = string | Uint8Array | AsyncIterable<string | Uint8Array> | null | undefined;

export interface FastResponseInit {
  /** Default 200. */
  readonly status?: number;
  /** `content-length`, `transfer-encoding` and `connection` are the engine's (`connection: close` is honoured). */
  readonly headers?: FastHeaders;
  readonly body?: FastBody;
}

/** What a fast handler returns: a body alone (status 200), or status, headers and body. */
export type FastResponse = string | Uint8Array | FastResponseInit;

export type FastHttpRequestHandler = (
  request: FastRequest,
  context: ShardContext,
) => FastResponse | Promise<FastResponse>;

export interface FastHttpHandler extends ShardMessageHook {
  /** Marks the module for the fast path: `engine.http({ api: 'fast' })` checks it. */
  readonly api: 'fast';
  /**
   * One request; return (or resolve to) its response. Pipelined requests are answered in order whatever
   * order their handlers finish in. A throw, a rejection or an invalid response answers 500 with
   * `connection: close` (or, if the response had begun, ends the connection) and is reported through the
   * engine's `handler-error` event; the shard serves on.
   */
  readonly request: FastHttpRequestHandler;
  /** Called once per shard before it serves; a throw fails `engine.start()`. */
  setup?(context: ShardContext): void | Promise<void>;
}

/**
 * Types a fast HTTP handler module's default export (`engine.http({ api: 'fast', handler })`); a bare
 * request function is accepted too.
 *
 * @example
 * ```ts
 * // app.ts: runs in every shard
 * import { defineFastHttpHandler } from 'sockshard';
 * export default defineFastHttpHandler(async (request, context) => {
 *   if (request.path === '/echo') return { headers: { 'content-type': 'text/plain' }, body: await request.bytes() };
 *   return { status: 200, headers: { 'content-type': 'text/plain' }, body: `hello from shard ${context.shardId}\n` };
 * });
 *
 * // server.ts
 * const engine = createEngine({ shards: 2 });
 * engine.http({ port: 8080, api: 'fast', handler: new URL('./app.js', import.meta.url) });
 * await engine.start();
 * ```
 */
export function defineFastHttpHandler(
  handler: Omit<FastHttpHandler, 'api'> | FastHttpRequestHandler,
): FastHttpHandler {
  return typeof handler === 'function' ? { api: 'fast', request: handler } : { ...handler, api: 'fast' };
}

/**
 * What a TLS handler module's default export has (see `defineTlsHandler`): `engine.tls()` calls
 * `connection` once a connection's handshake has completed, in the shard that owns it
 * (`socket.alpnProtocol`, `socket.servername`, `socket.isSessionReused()` are settled by then).
 *
 * @example
 * ```ts
 * import { defineTlsHandler } from 'sockshard';
 * export default defineTlsHandler({
 *   connection(socket) {
 *     socket.end(`hello ${socket.servername || 'stranger'}, resumed: ${socket.isSessionReused()}\n`);
 *   },
 * });
 * ```
 */
export interface TlsHandler extends ShardMessageHook {
  /** As TcpHandler's: a throw or a rejection destroys this connection and is reported; the shard serves on. */
  connection(socket: TLSSocket, context: ShardContext): void | Promise<void>;
  /** Called once per shard before it accepts connections; a throw fails `engine.start()`. */
  setup?(context: ShardContext): void | Promise<void>;
  /** `engine.close()` began: finish or end connections gently; whatever is still open at the timeout is destroyed. */
  drain?(context: ShardContext): void | Promise<void>;
}

/**
 * Types a TLS handler module's default export.
 *
 * @example
 * ```ts
 * // greet.ts: engine.tls({ port: 7443, key, cert, handler: new URL('./greet.js', import.meta.url) })
 * import { defineTlsHandler } from 'sockshard';
 * export default defineTlsHandler({
 *   connection(socket, { shardId }) {
 *     socket.end(`shard ${shardId}, ${socket.getProtocol()}\n`);
 *   },
 * });
 * ```
 */
export function defineTlsHandler<T extends TlsHandler>(handler: T): T {
  return handler;
}

/**
 * node:http2's compatibility API with the shard's context as third argument; with `allowHTTP1`, HTTP/1.1
 * requests arrive here as node:http's.
 *
 * @example
 * ```ts
 * import { defineHttp2Handler, type Http2RequestHandler } from 'sockshard';
 * const hello: Http2RequestHandler = (request, response) => response.end(`HTTP/${request.httpVersion}\n`);
 * export default defineHttp2Handler(hello);
 * ```
 */
export type Http2RequestHandler = (
  request: Http2ServerRequest | IncomingMessage,
  response: Http2ServerResponse | ServerResponse,
  context: ShardContext,
) => void | Promise<void>;

/**
 * What an HTTP/2 handler module's default export has (see `defineHttp2Handler`): `request` (the
 * compatibility API) or `stream` (the core API).
 *
 * @example
 * ```ts
 * import { defineHttp2Handler } from 'sockshard';
 * export default defineHttp2Handler({
 *   stream(stream, headers, { shardId }) {
 *     stream.respond({ ':status': 200, 'content-type': 'text/plain' });
 *     stream.end(`${headers[':path']} from shard ${shardId}\n`);
 *   },
 * });
 * ```
 */
export interface Http2Handler extends ShardMessageHook {
  /** One request (compatibility API). A throw or a rejection answers 500 (if nothing was sent) and is reported. */
  request?: Http2RequestHandler;
  /** One stream (core API), instead of `request`. A throw or a rejection resets the stream and is reported. */
  stream?(
    stream: ServerHttp2Stream,
    headers: IncomingHttpHeaders,
    context: ShardContext,
  ): void | Promise<void>;
  /** Called once per server in each shard (a TLS listener has two: one per ticket-key period). */
  setup?(context: ShardContext, server: Http2Server | Http2SecureServer): void | Promise<void>;
}

/**
 * Types an HTTP/2 handler module's default export; a bare request function is accepted too.
 *
 * @example
 * ```ts
 * // app.ts: engine.http2({ port: 8443, key, cert, allowHTTP1: true, handler: new URL('./app.js', import.meta.url) })
 * import { defineHttp2Handler } from 'sockshard';
 * export default defineHttp2Handler((request, response, { shardId }) => {
 *   response.end(`hello from shard ${shardId}\n`);
 * });
 * ```
 */
export function defineHttp2Handler(handler: Http2Handler | Http2RequestHandler): Http2Handler {
  return typeof handler === 'function' ? { request: handler } : handler;
}

/**
 * The sender of a datagram.
 *
 * @example
 * ```ts
 * import { defineUdpHandler } from 'sockshard';
 * export default defineUdpHandler({
 *   message(data, peer, context) {
 *     if (peer.family === 6) context.reply(peer, data); // IPv6 peers only
 *   },
 * });
 * ```
 */
export interface UdpPeer {
  readonly address: string;
  readonly port: number;
  readonly family: 4 | 6;
}

/**
 * What a UDP handler gets besides its datagram: the shard's context and the port's `reply` and `send`.
 *
 * @example
 * ```ts
 * import { defineUdpHandler } from 'sockshard';
 * export default defineUdpHandler({
 *   message(data, peer, context) {
 *     context.reply(peer, data); // from the port it arrived on
 *     const line = new TextEncoder().encode(`${peer.address} on ${context.port}`);
 *     context.send(514, '127.0.0.1', line); // to a syslog collector
 *   },
 * });
 * ```
 */
export interface UdpContext extends ShardContext {
  /** The local port the datagram arrived on. */
  readonly port: number;
  /**
   * Sends `data` to `peer` from the port the datagram arrived on. Never throws for a peer the network gave
   * you: a peer that cannot be sent to (source port 0: it expects no reply, RFC 768) is dropped and counted
   * in the port's `sendErrors`, as is any send the kernel refuses.
   */
  reply(peer: UdpPeer, data: Uint8Array): void;
  /** Sends `data` to `port` at `host` (an IP literal) from this context's port. */
  send(port: number, host: string, data: Uint8Array): void;
}

/**
 * What a UDP handler module's default export has (see `defineUdpHandler`).
 *
 * @example
 * ```ts
 * import { defineUdpHandler } from 'sockshard';
 * export default defineUdpHandler({
 *   message(data, peer, context) {
 *     context.reply(peer, data);
 *   },
 * });
 * ```
 */
export interface UdpHandler extends ShardMessageHook {
  /**
   * One datagram. `data` may be reused after this call returns (the batched path hands out views into
   * shared memory): copy what you keep. A throw or a rejection is counted and reported; the port serves on.
   */
  message(data: Uint8Array, peer: UdpPeer, context: UdpContext): void | Promise<void>;
  /** Called once per shard before its sockets open; a throw fails `engine.start()`. */
  setup?(context: ShardContext): void | Promise<void>;
}

/**
 * Types a UDP handler module's default export.
 *
 * @example
 * ```ts
 * // echo-udp.ts: engine.udp({ ports: [5300], handler: new URL('./echo-udp.js', import.meta.url) })
 * import { defineUdpHandler } from 'sockshard';
 * export default defineUdpHandler({
 *   message(data, peer, context) {
 *     context.reply(peer, data); // copies `data`, which is only valid during this call
 *   },
 * });
 * ```
 */
export function defineUdpHandler<T extends UdpHandler>(handler: T): T {
  return handler;
}

/**
 * ICMP packets routed to this shard: echo replies and requests by identifier (this shard's range),
 * destination-unreachable and time-exceeded by the port in the quoted UDP/TCP header (the shard that owns
 * that port). Each packet is a zero-copy view into a ring, valid only during the call.
 *
 * @example
 * ```ts
 * import { defineIcmpHandler } from 'sockshard';
 * export default defineIcmpHandler({
 *   echoReply(packet) {
 *     console.log(`reply from ${packet.source}, sequence ${packet.sequence}`);
 *   },
 * });
 * ```
 */
export interface IcmpHandler extends ShardMessageHook {
  echoReply?(packet: EchoPacket, context: ShardContext): void;
  echoRequest?(packet: EchoPacket, context: ShardContext): void;
  unreachable?(packet: IcmpErrorPacket, context: ShardContext): void;
  timeExceeded?(packet: IcmpErrorPacket, context: ShardContext): void;
  other?(packet: OtherIcmpPacket, context: ShardContext): void;
  setup?(context: ShardContext): void | Promise<void>;
}

/**
 * Types an ICMP handler module's default export.
 *
 * @example
 * ```ts
 * // unreachables.ts: engine.icmp({ handler: new URL('./unreachables.js', import.meta.url) })
 * import { defineIcmpHandler } from 'sockshard';
 * export default defineIcmpHandler({
 *   unreachable(packet, { shardId }) {
 *     console.log(`shard ${shardId}: ${packet.source} says ${packet.quotedDestinationPort} is unreachable`);
 *   },
 * });
 * ```
 */
export function defineIcmpHandler<T extends IcmpHandler>(handler: T): T {
  return handler;
}
