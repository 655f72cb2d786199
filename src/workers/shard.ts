import http from 'node:http';
import net from 'node:net';
import type stream from 'node:stream';
import { parentPort } from 'node:worker_threads';
import { IcmpUnavailableError, OffloadUnavailableError } from '../errors.js';
import type {
  HttpHandler,
  IcmpHandler,
  OffloadOptions,
  ShardContext,
  ShardMessageHook,
  TcpHandler,
  UdpHandler,
} from '../handler.js';
import type { PingOptions, PingResult } from '../icmp/ping-tracker.js';
import { close as closeFd, listen } from '../native/binding.js';
import {
  ADDRESS_BUCKETS,
  COUNTER_ACCEPTED,
  COUNTER_ADOPT_FAILED,
  COUNTER_ADOPTED,
  COUNTER_CLOSED,
  COUNTER_HANDLER_ERRORS,
  COUNTER_HTTP_BAD_REQUESTS,
  COUNTER_HTTP_TIMEOUTS,
  COUNTER_IDLE_TIMEOUTS,
  COUNTER_KERNEL_REFUSED,
  COUNTER_REQUESTS,
  COUNTER_SOCKET_ERRORS,
  type CoordinatorMessage,
  counterIndex,
  HANDOFF_ADDRESS_BUCKET,
  HANDOFF_FD,
  HANDOFF_LISTENER,
  type ListenerSpec,
  RECORD_HANDOFF,
  RECORD_UDP_SOCKET,
  type ShardInit,
  type ShardMessage,
  serializeError,
  UDP_PEER_UNREACHABLE,
  UDP_SOCKET_FD,
  UDP_SOCKET_LISTENER,
  UDP_SOCKET_PORT,
  UDP_SOCKET_PORT_INDEX,
  udpCounterBase,
} from '../protocol.js';
import { RingConsumer } from '../ring/index.js';
import { loadHandler } from './handler-module.js';
import { isPromise } from './is-promise.js';
import { OffloadPool } from './offload-pool.js';
import { ShardIcmp } from './shard-icmp.js';
import { ShardMesh } from './shard-mesh.js';
import { DgramUdpPort } from './udp-port.js';
import { BatchedUdpService } from './udp-port-batched.js';

/** One listener as this shard serves it. */
interface ServedListener {
  readonly spec: ListenerSpec;
  readonly context: ShardContext;
  /** The handler's hook for messages from other shards, if it has one. */
  readonly onShardMessage?: ShardMessageHook['shardMessage'];
  readonly tcp?: TcpHandler;
  readonly http?: http.Server;
  readonly udp?: UdpHandler;
  /** balance 'kernel': this shard's own SO_REUSEPORT listening server. */
  kernel?: net.Server;
}

/** How often a draining shard looks for connections that have become idle (HTTP keep-alive). */
const DRAIN_POLL_MS = 25;

/**
 * A shard: one worker thread with its own event loop. It adopts the connections the coordinator hands it
 * through its control ring (`net.Socket({ fd })`), runs the listeners' handlers on them, keeps its
 * counters in shared memory, and drains on request.
 */
export class Shard {
  readonly #init: ShardInit;
  readonly #consumer: RingConsumer;
  readonly #counters: Int32Array;
  /** This shard's slice of the per-address connection table (see ADDRESS_BUCKETS). */
  readonly #addresses: Int32Array;
  readonly #listeners = new Map<number, ServedListener>();
  readonly #sockets = new Set<net.Socket>();
  readonly #udpPorts: (DgramUdpPort | BatchedUdpService)[] = [];
  readonly #udpCounters: Float64Array;
  readonly #mesh: ShardMesh;
  readonly #icmp: ShardIcmp | undefined;
  /** Counter line of each UDP port this shard serves, by port (for ICMP unreachables about it). */
  readonly #udpPortBases = new Map<number, number>();
  readonly #offloadPool: OffloadPool | undefined;
  readonly #offload = <Output, Input>(input: Input, options?: OffloadOptions): Promise<Output> =>
    this.#offloadPool === undefined
      ? Promise.reject(new OffloadUnavailableError())
      : this.#offloadPool.run<Input, Output>(input, options);
  readonly #ping = (host: string, options?: PingOptions): Promise<PingResult> =>
    this.#icmp === undefined
      ? Promise.reject(
          new IcmpUnavailableError('this engine serves no ICMP: call engine.icmp() before start()'),
        )
      : this.#icmp.ping(host, options);
  readonly #port = parentPort!;
  #draining = false;
  /** The HTTP response whose handler is running synchronously right now (see the request listener). */
  #inFlight: http.ServerResponse | undefined;
  #inFlightListener = -1;

  constructor(init: ShardInit) {
    this.#init = init;
    this.#consumer = new RingConsumer(init.control);
    this.#counters = new Int32Array(init.counters);
    this.#addresses = new Int32Array(init.addresses, init.shardId * ADDRESS_BUCKETS * 4, ADDRESS_BUCKETS);
    this.#udpCounters = new Float64Array(init.udpCounters);
    if (init.offload !== undefined) this.#offloadPool = new OffloadPool(init.offload);
    if (init.icmp !== undefined) {
      this.#icmp = new ShardIcmp(init.icmp, init.shardId, {
        udpUnreachable: (port) => {
          const base = this.#udpPortBases.get(port);
          if (base !== undefined) this.#udpCounters[base + UDP_PEER_UNREACHABLE] += 1;
        },
        reportError: (listenerId, error) => this.#reportHandlerError(listenerId, error),
      });
    }
    this.#mesh = new ShardMesh(
      init,
      (counter) => this.#count(counter),
      (listenerId, data, from) => this.#onShardMessage(listenerId, data, from),
    );
  }

  async run(): Promise<void> {
    this.#port.on('message', (message: CoordinatorMessage) => this.#onMessage(message));
    // A handler's error in a later callback (a socket event, a timer) would otherwise end this thread and
    // every connection on it: count it, report it, and serve on.
    process.on('uncaughtException', (error) => {
      const inFlight = this.#inFlight;
      this.#inFlight = undefined;
      if (inFlight === undefined) this.#reportHandlerError(-1, error);
      else this.#requestFailed(this.#inFlightListener, inFlight, error);
    });
    process.on('unhandledRejection', (error) => this.#reportHandlerError(-1, error));
    try {
      for (const spec of this.#init.listeners) await this.#prepare(spec);
    } catch (error) {
      this.#post({ type: 'start-failed', error: serializeError(error) });
      this.#port.close();
      return;
    }
    this.#mesh.start();
    this.#icmp?.start();
    this.#post({ type: 'ready' });
    await this.#pump();
  }

  async #prepare(spec: ListenerSpec): Promise<void> {
    const context: ShardContext = {
      shardId: this.#init.shardId,
      shards: this.#init.shards,
      listenerId: spec.id,
      sendToShard: (shardId, data, listenerId = spec.id) => this.#mesh.send(shardId, listenerId, data),
      ping: this.#ping,
      offload: this.#offload,
    };
    const handler = await loadHandler(spec);
    const onShardMessage = handler.shardMessage?.bind(handler);
    const common = { spec, context, ...(onShardMessage === undefined ? {} : { onShardMessage }) };
    if (spec.kind === 'icmp') {
      const icmp = handler as IcmpHandler;
      await icmp.setup?.(context);
      this.#icmp?.setHandler(icmp, context);
      this.#listeners.set(spec.id, common);
      return;
    }
    if (spec.kind === 'tcp' || spec.kind === 'udp') {
      const typed = handler as TcpHandler | UdpHandler;
      await typed.setup?.(context);
      this.#listeners.set(
        spec.id,
        spec.kind === 'tcp'
          ? { ...common, tcp: typed as TcpHandler }
          : { ...common, udp: typed as UdpHandler },
      );
      return;
    }
    const { request, setup } = handler as HttpHandler;
    const settings = spec.http ?? {};
    const server = http.createServer(
      {
        ...(settings.maxHeaderSize === undefined ? {} : { maxHeaderSize: settings.maxHeaderSize }),
        ...(settings.connectionsCheckingInterval === undefined
          ? {}
          : { connectionsCheckingInterval: settings.connectionsCheckingInterval }),
      },
      (req, res) => {
        Atomics.add(this.#counters, counterIndex(this.#init.shardId, COUNTER_REQUESTS), 1);
        // No try/catch here: V8 inlines a hot handler into this listener, and inside a try block the
        // inlined code ran 3-4x slower (a 0.2 ms CPU-bound handler took 0.55-0.8 ms on Node 20). A
        // synchronous throw reaches the uncaughtException hook instead, which finds the request in flight.
        this.#inFlightListener = spec.id;
        this.#inFlight = res;
        const result = request(req, res, context);
        this.#inFlight = undefined;
        if (isPromise(result)) result.catch((error: unknown) => this.#requestFailed(spec.id, res, error));
      },
    );
    if (settings.keepAliveTimeout !== undefined) server.keepAliveTimeout = settings.keepAliveTimeout;
    if (settings.headersTimeout !== undefined) server.headersTimeout = settings.headersTimeout;
    if (settings.requestTimeout !== undefined) server.requestTimeout = settings.requestTimeout;
    if (settings.maxRequestsPerSocket !== undefined)
      server.maxRequestsPerSocket = settings.maxRequestsPerSocket;
    server.on('clientError', (error: NodeJS.ErrnoException, socket) => this.#clientError(error, socket));
    // node:http starts its header/request timeout checks on 'listening'. This server never listens (the
    // coordinator accepts), so start them the same way; without this, slow clients would never time out.
    server.emit('listening');
    await setup?.(context, server);
    this.#listeners.set(spec.id, { ...common, http: server });
  }

  /** Adopts handed-off connections until the shard drains; parks on the ring when there are none. */
  async #pump(): Promise<void> {
    while (!this.#draining) {
      if (this.#takeControlRecords() === 0) await this.#consumer.waitForData();
    }
  }

  /**
   * Drains the control ring, then acts on what it held. The records are released before any fd is used,
   * and every handed-off fd is wrapped in a socket before any handler runs: if this shard dies (a handler
   * calls process.exit, say), each fd is then either still in the ring, for the restarted shard, or owned
   * by a socket that the dying thread closes. None can leak, and none can be adopted twice.
   */
  #takeControlRecords(): number {
    const count = this.#consumer.drain(this.#onRecord);
    if (count === 0) return 0;
    const handoffs = this.#handoffBatch.splice(0);
    const udpSockets = this.#udpBatch.splice(0);
    const adopted: [net.Socket, ServedListener][] = [];
    for (let i = 0; i < handoffs.length; i += 3) {
      const socket = this.#adopt(handoffs[i]!, handoffs[i + 1]!, handoffs[i + 2]!);
      if (socket !== undefined) adopted.push(socket);
    }
    for (const [socket, listener] of adopted) this.#serve(socket, listener);
    for (let i = 0; i < udpSockets.length; i += 4) {
      void this.#openUdp(udpSockets[i]!, udpSockets[i + 1]!, udpSockets[i + 2]!, udpSockets[i + 3]!);
    }
    return count;
  }

  readonly #handoffBatch: number[] = [];
  readonly #udpBatch: number[] = [];
  readonly #onRecord = (_bytes: Uint8Array, offset: number, _length: number, type: number): void => {
    const word = offset >> 2;
    const words = this.#consumer.words;
    if (type === RECORD_HANDOFF) {
      this.#handoffBatch.push(
        words[word + HANDOFF_FD]!,
        words[word + HANDOFF_LISTENER]!,
        words[word + HANDOFF_ADDRESS_BUCKET]!,
      );
    } else if (type === RECORD_UDP_SOCKET) {
      this.#udpBatch.push(
        words[word + UDP_SOCKET_FD]!,
        words[word + UDP_SOCKET_LISTENER]!,
        words[word + UDP_SOCKET_PORT]!,
        words[word + UDP_SOCKET_PORT_INDEX]!,
      );
    }
  };

  /** Adopts a bound UDP socket the coordinator created for this shard. */
  async #openUdp(fd: number, listenerId: number, port: number, portIndex: number): Promise<void> {
    const listener = this.#listeners.get(listenerId);
    try {
      if (listener?.udp === undefined)
        throw new Error(`no UDP listener ${listenerId} in shard ${this.#init.shardId}`);
      const UdpPort = listener.spec.udp!.io === 'batched' ? BatchedUdpService : DgramUdpPort;
      const udpPort = new UdpPort({
        fd,
        port,
        settings: listener.spec.udp!,
        handler: listener.udp,
        context: listener.context,
        counters: this.#udpCounters,
        base: this.#udpBase(port, portIndex),
        reportError: (error) => this.#reportHandlerError(listenerId, error),
      });
      await udpPort.open();
      this.#udpPorts.push(udpPort);
      this.#post({ type: 'udp-bound', fd });
    } catch (error) {
      try {
        closeFd(fd);
      } catch {}
      this.#post({ type: 'udp-failed', fd, error: serializeError(error) });
    }
  }

  #udpBase(port: number, portIndex: number): number {
    const base = udpCounterBase(portIndex, this.#init.shards, this.#init.shardId);
    this.#udpPortBases.set(port, base);
    return base;
  }

  #onShardMessage(listenerId: number, data: Uint8Array, from: number): void {
    const listener = this.#listeners.get(listenerId);
    if (listener?.onShardMessage === undefined) return;
    try {
      listener.onShardMessage(data, from, listener.context);
    } catch (error) {
      this.#reportHandlerError(listenerId, error);
    }
  }

  #adopt(fd: number, listenerId: number, addressBucket: number): [net.Socket, ServedListener] | undefined {
    const listener = this.#listeners.get(listenerId);
    try {
      if (listener === undefined) throw new Error(`no listener ${listenerId} in shard ${this.#init.shardId}`);
      // As node:http's own server does: half-open allowed for HTTP (it manages the close itself).
      const socket = new net.Socket({
        fd,
        readable: true,
        writable: true,
        allowHalfOpen: listener.http !== undefined,
      });
      this.#count(COUNTER_ADOPTED);
      socket.once('close', () => Atomics.sub(this.#addresses, addressBucket, 1));
      return [socket, listener];
    } catch (error) {
      Atomics.sub(this.#addresses, addressBucket, 1);
      // The fd is ours now: close it, or it leaks.
      try {
        closeFd(fd);
      } catch {}
      this.#count(COUNTER_ADOPT_FAILED);
      this.#reportHandlerError(listenerId, error);
      return undefined;
    }
  }

  /** handoff 'transfer': a socket Node accepted in the coordinator and moved here (paused until now). */
  #adoptTransferred(socket: net.Socket, listenerId: number, addressBucket: number): void {
    const listener = this.#listeners.get(listenerId);
    socket.once('close', () => Atomics.sub(this.#addresses, addressBucket, 1));
    if (listener === undefined) {
      socket.destroy();
      this.#count(COUNTER_ADOPT_FAILED);
      return;
    }
    this.#count(COUNTER_ADOPTED);
    this.#serve(socket, listener);
    socket.resume();
  }

  #serve(socket: net.Socket, listener: ServedListener): void {
    // Nagle off, as net/http servers default to: a response written in several pieces must not wait 40 ms.
    socket.setNoDelay(true);
    this.#sockets.add(socket);
    socket.once('close', () => {
      this.#sockets.delete(socket);
      this.#count(COUNTER_CLOSED);
    });
    // Resets and broken pipes are a client's business, not a reason to end the shard.
    socket.on('error', () => this.#count(COUNTER_SOCKET_ERRORS));
    const idleTimeoutMs = listener.spec.idleTimeoutMs ?? 0;
    if (idleTimeoutMs > 0) {
      socket.setTimeout(idleTimeoutMs, () => {
        this.#count(COUNTER_IDLE_TIMEOUTS);
        socket.destroy();
      });
    }
    if (listener.http !== undefined) {
      listener.http.emit('connection', socket);
      return;
    }
    try {
      const result = listener.tcp!.connection(socket, listener.context);
      if (isPromise(result))
        result.catch((error: unknown) => this.#connectionFailed(listener, socket, error));
    } catch (error) {
      this.#connectionFailed(listener, socket, error);
    }
  }

  #connectionFailed(listener: ServedListener, socket: net.Socket, error: unknown): void {
    socket.destroy();
    this.#reportHandlerError(listener.spec.id, error);
  }

  /**
   * A malformed request or a slow client (headersTimeout/requestTimeout: slowloris). Answered as node:http
   * answers by default (408, 431 or 400, then the connection ends), and counted.
   */
  #clientError(error: NodeJS.ErrnoException, socket: stream.Duplex): void {
    const timeout = error.code === 'ERR_HTTP_REQUEST_TIMEOUT';
    this.#count(timeout ? COUNTER_HTTP_TIMEOUTS : COUNTER_HTTP_BAD_REQUESTS);
    if (socket.writable) {
      const status = timeout
        ? '408 Request Timeout'
        : error.code === 'HPE_HEADER_OVERFLOW'
          ? '431 Request Header Fields Too Large'
          : '400 Bad Request';
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    }
    socket.destroy();
  }

  #requestFailed(listenerId: number, response: http.ServerResponse, error: unknown): void {
    if (response.headersSent) {
      response.socket?.destroy();
    } else {
      response.writeHead(500, { 'content-type': 'text/plain', connection: 'close' });
      response.end('internal server error\n');
    }
    this.#reportHandlerError(listenerId, error);
  }

  #reportHandlerError(listenerId: number, error: unknown): void {
    this.#count(COUNTER_HANDLER_ERRORS);
    this.#post({ type: 'handler-error', listenerId, error: serializeError(error) });
  }

  #onMessage(message: CoordinatorMessage): void {
    if (message.type === 'adopt')
      this.#adoptTransferred(message.socket, message.listenerId, message.addressBucket);
    else if (message.type === 'listen') this.#listenKernel(message.listenerId, message.port);
    else if (message.type === 'drain') void this.#drain(message.timeoutMs);
  }

  /** balance 'kernel': this shard listens on its own SO_REUSEPORT socket and accepts for itself. */
  #listenKernel(listenerId: number, port: number): void {
    const listener = this.#listeners.get(listenerId)!;
    const address = listener.spec.kernel!;
    try {
      const bound = listen({ host: address.host, port, backlog: address.backlog, reusePort: true });
      const server = net.createServer({ allowHalfOpen: listener.http !== undefined }, (socket) => {
        this.#count(COUNTER_ACCEPTED);
        this.#serve(socket, listener);
      });
      if (address.maxConnections > 0) {
        server.maxConnections = address.maxConnections;
        server.on('drop', () => this.#count(COUNTER_KERNEL_REFUSED));
      }
      server.once('error', (error) =>
        this.#post({ type: 'listen-failed', listenerId, error: serializeError(error) }),
      );
      server.listen({ fd: bound.fd }, () => this.#post({ type: 'listening', listenerId, port: bound.port }));
      listener.kernel = server;
    } catch (error) {
      this.#post({ type: 'listen-failed', listenerId, error: serializeError(error) });
    }
  }

  async #drain(timeoutMs: number): Promise<void> {
    this.#draining = true;
    for (const listener of this.#listeners.values()) listener.kernel?.close();
    await Promise.all(this.#udpPorts.map((udpPort) => udpPort.close()));
    this.#mesh.close();
    this.#icmp?.close();
    await this.#offloadPool?.close();
    // Connections handed off before the coordinator stopped accepting are still ours to serve.
    this.#takeControlRecords();
    for (const listener of this.#listeners.values()) {
      if (listener.tcp?.drain === undefined) continue;
      try {
        await listener.tcp.drain(listener.context);
      } catch (error) {
        this.#reportHandlerError(listener.spec.id, error);
      }
    }
    const deadline = performance.now() + timeoutMs;
    while (this.#sockets.size > 0 && performance.now() < deadline) {
      for (const listener of this.#listeners.values()) listener.http?.closeIdleConnections();
      await new Promise((resolve) => setTimeout(resolve, Math.min(DRAIN_POLL_MS, timeoutMs)));
    }
    const destroyed = this.#sockets.size;
    const closed = [...this.#sockets].map(
      (socket) => new Promise((resolve) => socket.once('close', resolve)),
    );
    for (const socket of this.#sockets) socket.destroy();
    await Promise.all(closed);
    this.#post({ type: 'drained', destroyed });
    this.#port.close();
  }

  #count(counter: number): void {
    Atomics.add(this.#counters, counterIndex(this.#init.shardId, counter), 1);
  }

  #post(message: ShardMessage): void {
    this.#port.postMessage(message);
  }
}
