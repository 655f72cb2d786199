import net from 'node:net';
import { parentPort } from 'node:worker_threads';
import {
  AdoptError,
  IcmpUnavailableError,
  OffloadUnavailableError,
  SyscallError,
  serializeError,
} from '../errors.js';
import type { OffloadOptions, ShardContext, ShardMessageHook } from '../handler.js';
import type { PingOptions, PingResult } from '../icmp/ping-options.js';
import {
  ACCEPTED_ADDRESS_HASH,
  ACCEPTED_FD,
  ACCEPTED_STRIDE,
  type AcceptHandle,
  close as closeFd,
  resumeAccepting,
  startAccepting,
  stopAccepting,
} from '../native/binding.js';
import {
  ADDRESS_BUCKET_MASK,
  addressTableSlice,
  COUNTER_ACCEPTED,
  COUNTER_ADOPT_FAILED,
  COUNTER_ADOPTED,
  COUNTER_CLOSED,
  COUNTER_HANDLER_ERRORS,
  COUNTER_IDLE_TIMEOUTS,
  COUNTER_KERNEL_REFUSED,
  COUNTER_SOCKET_ERRORS,
  type CoordinatorMessage,
  counterIndex,
  HANDOFF_ADDRESS,
  HANDOFF_ADDRESS_BUCKET,
  HANDOFF_FAMILY,
  HANDOFF_FD,
  HANDOFF_LISTENER,
  HANDOFF_PORT,
  LISTEN_SOCKET_FD,
  LISTEN_SOCKET_LISTENER,
  type ListenerSpec,
  RECORD_HANDOFF,
  RECORD_HANDOFF_PROXIED,
  RECORD_LISTEN_SOCKET,
  RECORD_UDP_SOCKET,
  type ShardInit,
  type ShardMessage,
  type TlsSettings,
  UDP_SOCKET_FD,
  UDP_SOCKET_LISTENER,
  UDP_SOCKET_PORT,
  UDP_SOCKET_PORT_INDEX,
} from '../protocol.js';
import { RingConsumer } from '../ring/index.js';
import { ClientHelloPeek } from './client-hello-peek.js';
import { loadHandler } from './handler-module.js';
import { LISTENER_KINDS } from './listener-kinds.js';
import { OffloadPool } from './offload-pool.js';
import { showPeerAddress } from './peer-address.js';
import type { ServedListener, ShardServices, StreamListener } from './served-listener.js';
import { ShardIcmp } from './shard-icmp.js';
import { ShardMesh } from './shard-mesh.js';
import { TicketKeysView } from './ticket-keys-view.js';

/** Words per connection in the proxied handoff batch. */
const PROXIED_STRIDE = 9;

/** One listener in this shard: the kind's own part, and what the shard keeps about it. */
interface Registered {
  readonly spec: ListenerSpec;
  readonly context: ShardContext;
  readonly listener: ServedListener;
  /** The handler's hook for messages from other shards, if it has one. */
  readonly onShardMessage: ShardMessageHook['shardMessage'];
  /** balance 'kernel': the servers on this shard's SO_REUSEPORT listening sockets (usually one). */
  readonly kernel: net.Server[];
  /** balance 'kernel' for a listener that adopts raw fds: its listening fds, accepted natively here. */
  readonly kernelNative: { readonly fd: number; readonly accepting: AcceptHandle }[];
}

/** Connections a 'kernel' listener that adopts raw fds accepts per batch. */
const ACCEPT_BATCH = 64;
/** How long a 'kernel' native acceptor waits after an accept error (EMFILE and the like) before it resumes. */
const ACCEPT_BACKOFF_MS = 100;

/**
 * A shard: one worker thread with its own event loop. It adopts the connections and UDP sockets the
 * coordinator hands it through its control ring, gives each to its listener (one module per kind, see
 * served-listener.ts), keeps its counters in shared memory, and drains on request.
 */
export class Shard {
  readonly #init: ShardInit;
  /** The control ring's consumer, made when the shard attaches to its rings (see run()). */
  #consumer: RingConsumer | undefined;
  readonly #counters: Int32Array;
  /** This shard's slice of the per-address connection table (see ADDRESS_BUCKETS). */
  readonly #addresses: Int32Array;
  readonly #listeners = new Map<number, Registered>();
  readonly #sockets = new Set<net.Socket>();
  /** Connections that listeners own as raw fds (StreamListener.adoptFd), open now. */
  #nativeOpen = 0;
  readonly #mesh: ShardMesh;
  readonly #icmp: ShardIcmp | undefined;
  readonly #offloadPool: OffloadPool | undefined;
  readonly #services: ShardServices;
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
  /** While draining: called when the last connection has closed. */
  #allClosed: (() => void) | undefined;

  constructor(init: ShardInit) {
    this.#init = init;
    this.#counters = new Int32Array(init.counters);
    this.#addresses = addressTableSlice(init.addresses, init.shardId);
    if (init.offload !== undefined) this.#offloadPool = new OffloadPool(init.offload);
    if (init.icmp !== undefined) {
      this.#icmp = new ShardIcmp(init.icmp, init.shardId, {
        udpUnreachable: (port) => this.#peerUnreachable(port),
        reportError: (listenerId, error) => this.#reportHandlerError(listenerId, error),
      });
    }
    this.#mesh = new ShardMesh(
      init,
      (counter) => this.#count(counter),
      (listenerId, data, from) => this.#onShardMessage(listenerId, data, from),
    );
    this.#services = {
      shardId: init.shardId,
      shards: init.shards,
      count: (counter) => this.#count(counter),
      reportHandlerError: (listenerId, error) => this.#reportHandlerError(listenerId, error),
      reportFault: (listenerId, error) => this.#reportFault(listenerId, error),
      udpCounters: new Float64Array(init.udpCounters),
      icmp: this.#icmp,
      tls:
        init.ticketKeys === undefined
          ? undefined
          : { keys: new TicketKeysView(init.ticketKeys), peek: new ClientHelloPeek() },
    };
  }

  async run(): Promise<void> {
    this.#port.on('message', (message: CoordinatorMessage) => this.#onMessage(message));
    process.on('uncaughtException', this.#onUncaught);
    process.on('unhandledRejection', (error) => this.#reportHandlerError(-1, error));
    try {
      for (const spec of this.#init.listeners) await this.#prepare(spec);
    } catch (error) {
      this.#post({ type: 'start-failed', error: serializeError(error) });
      this.#port.close();
      return;
    }
    if (this.#init.standby === true) {
      // A reload's replacement: the shard it replaces still consumes these rings; wait until it has stopped.
      this.#post({ type: 'prepared' });
      await new Promise<void>((resolve) => {
        this.#takeOver = resolve;
      });
    }
    // The ring ends are made now, so that they start from the indices the previous consumer left.
    const consumer = new RingConsumer(this.#init.control);
    this.#consumer = consumer;
    this.#endOnFailure(this.#mesh.start());
    if (this.#icmp !== undefined) this.#endOnFailure(this.#icmp.start());
    this.#post({ type: 'ready' });
    await this.#endOnFailure(this.#pump(consumer));
  }

  /**
   * A handler's error in a later callback (a timer, a socket event it listens to) would otherwise end this
   * thread and every connection on it: count it, report it, and serve on. That is safe because such a
   * throw unwinds only the handler's own callback: the shard never calls into a handler with its own
   * state half-changed (records are released and fds wrapped before any handler runs), and a failure of
   * its own loops does not end up here (#endOnFailure).
   */
  readonly #onUncaught = (error: Error): void => {
    for (const { listener } of this.#listeners.values()) if (listener.claimUncaught?.(error)) return;
    this.#reportHandlerError(-1, error);
  };

  /**
   * The shard's own loops (the control ring's pump, the mesh's, ICMP's) must not fail quietly: the
   * uncaughtException hook would keep a shard 'serving' whose connections nobody adopts any more. A loop
   * that fails ends the thread: its error reaches the coordinator as the worker's 'error' (the cause of
   * the ShardExitError that follows), and the shard is restarted like any shard that died.
   */
  #endOnFailure(loop: Promise<void>): Promise<void> {
    return loop.catch((error: unknown) => {
      process.off('uncaughtException', this.#onUncaught);
      setImmediate(() => {
        throw error;
      });
    });
  }

  /** A standby replacement's signal to attach to the rings (see run()). */
  #takeOver: (() => void) | undefined;

  async #prepare(spec: ListenerSpec): Promise<void> {
    const context: ShardContext = {
      shardId: this.#init.shardId,
      shards: this.#init.shards,
      listenerId: spec.id,
      sendToShard: (shardId, data, listenerId = spec.id) => this.#mesh.send(shardId, listenerId, data),
      ping: this.#ping,
      offload: this.#offload,
    };
    const kind = LISTENER_KINDS[spec.kind];
    const handler = await loadHandler(spec, kind);
    const listener = await kind.create({ spec, handler, context, shard: this.#services });
    const onShardMessage = (handler as ShardMessageHook).shardMessage?.bind(handler);
    this.#listeners.set(spec.id, { spec, context, listener, onShardMessage, kernel: [], kernelNative: [] });
  }

  /** Adopts handed-off connections until the shard drains; parks on the ring when there are none. */
  async #pump(consumer: RingConsumer): Promise<void> {
    while (!this.#draining) {
      if (this.#takeControlRecords() === 0) await consumer.waitForData();
    }
  }

  /**
   * Drains the control ring, then acts on what it held. The records are released before any fd is used,
   * and every handed-off fd is wrapped in a socket before any handler runs: if this shard dies (a handler
   * calls process.exit, say), each fd is then either still in the ring, for the restarted shard, or owned
   * by a socket that the dying thread closes. None can leak, and none can be adopted twice.
   */
  #takeControlRecords(): number {
    const count = this.#consumer?.drain(this.#onRecord) ?? 0;
    if (count === 0) return 0;
    const handoffs = this.#handoffBatch.splice(0);
    const proxied = this.#proxiedBatch.splice(0);
    const udpSockets = this.#udpBatch.splice(0);
    const listenSockets = this.#listenBatch.splice(0);
    const adopted: [net.Socket, Registered, StreamListener][] = [];
    for (let i = 0; i < handoffs.length; i += 3) {
      const registered = this.#listeners.get(handoffs[i + 1]!);
      if (registered?.listener.transport === 'stream' && registered.listener.adoptFd !== undefined) {
        this.#adoptNative(handoffs[i]!, registered, registered.listener, handoffs[i + 2]!);
        continue;
      }
      const socket = this.#adopt(handoffs[i]!, handoffs[i + 1]!, handoffs[i + 2]!);
      if (socket !== undefined) adopted.push(socket);
    }
    for (let i = 0; i < proxied.length; i += PROXIED_STRIDE) {
      const registered = this.#listeners.get(proxied[i + 1]!);
      // A raw-fd kind (the fast HTTP path) has no socket to show the client's address on; the
      // coordinator has balanced and capped by it already.
      if (registered?.listener.transport === 'stream' && registered.listener.adoptFd !== undefined) {
        this.#adoptNative(proxied[i]!, registered, registered.listener, proxied[i + 2]!);
        continue;
      }
      const socket = this.#adopt(proxied[i]!, proxied[i + 1]!, proxied[i + 2]!);
      if (socket === undefined) continue;
      const address = {
        family: proxied[i + 3] === 6 ? 6 : 4,
        words: [proxied[i + 5]!, proxied[i + 6]!, proxied[i + 7]!, proxied[i + 8]!],
      } as const;
      showPeerAddress(socket[0], address, proxied[i + 4]!);
      adopted.push(socket);
    }
    for (const [socket, registered, listener] of adopted) this.#serve(socket, registered, listener);
    for (let i = 0; i < udpSockets.length; i += 4) {
      void this.#openUdp(udpSockets[i]!, udpSockets[i + 1]!, udpSockets[i + 2]!, udpSockets[i + 3]!);
    }
    for (let i = 0; i < listenSockets.length; i += 2)
      this.#listenKernel(listenSockets[i]!, listenSockets[i + 1]!);
    return count;
  }

  readonly #handoffBatch: number[] = [];
  /** [fd, listener, bucket, family, port, address words x4] per connection (RECORD_HANDOFF_PROXIED). */
  readonly #proxiedBatch: number[] = [];
  readonly #udpBatch: number[] = [];
  readonly #listenBatch: number[] = [];
  readonly #onRecord = (_bytes: Uint8Array, offset: number, _length: number, type: number): void => {
    const word = offset >> 2;
    const words = this.#consumer!.words;
    if (type === RECORD_HANDOFF) {
      this.#handoffBatch.push(
        words[word + HANDOFF_FD]!,
        words[word + HANDOFF_LISTENER]!,
        words[word + HANDOFF_ADDRESS_BUCKET]!,
      );
    } else if (type === RECORD_HANDOFF_PROXIED) {
      this.#proxiedBatch.push(
        words[word + HANDOFF_FD]!,
        words[word + HANDOFF_LISTENER]!,
        words[word + HANDOFF_ADDRESS_BUCKET]!,
        words[word + HANDOFF_FAMILY]!,
        words[word + HANDOFF_PORT]!,
        words[word + HANDOFF_ADDRESS]!,
        words[word + HANDOFF_ADDRESS + 1]!,
        words[word + HANDOFF_ADDRESS + 2]!,
        words[word + HANDOFF_ADDRESS + 3]!,
      );
    } else if (type === RECORD_UDP_SOCKET) {
      this.#udpBatch.push(
        words[word + UDP_SOCKET_FD]!,
        words[word + UDP_SOCKET_LISTENER]!,
        words[word + UDP_SOCKET_PORT]!,
        words[word + UDP_SOCKET_PORT_INDEX]!,
      );
    } else if (type === RECORD_LISTEN_SOCKET) {
      this.#listenBatch.push(words[word + LISTEN_SOCKET_FD]!, words[word + LISTEN_SOCKET_LISTENER]!);
    }
  };

  /** Adopts a bound UDP socket the coordinator created for this shard. */
  async #openUdp(fd: number, listenerId: number, port: number, portIndex: number): Promise<void> {
    const listener = this.#listeners.get(listenerId)?.listener;
    try {
      if (listener?.transport !== 'datagram')
        throw this.#adoptError(listenerId, 'it is not a UDP listener here');
      await listener.open(fd, port, portIndex);
      this.#post({ type: 'udp-bound', fd });
    } catch (error) {
      try {
        closeFd(fd);
      } catch {}
      const fault =
        error instanceof SyscallError || error instanceof AdoptError
          ? error
          : this.#adoptError(listenerId, `UDP port ${port}`, error);
      this.#post({ type: 'udp-failed', fd, error: serializeError(fault) });
    }
  }

  /** An ICMP error about a datagram that this shard's UDP port `port` sent. */
  #peerUnreachable(port: number): void {
    for (const { listener } of this.#listeners.values()) {
      if (listener.transport === 'datagram' && listener.peerUnreachable(port)) return;
    }
  }

  #onShardMessage(listenerId: number, data: Uint8Array, from: number): void {
    const registered = this.#listeners.get(listenerId);
    if (registered?.onShardMessage === undefined) return;
    try {
      registered.onShardMessage(data, from, registered.context);
    } catch (error) {
      this.#reportHandlerError(listenerId, error);
    }
  }

  #adopt(
    fd: number,
    listenerId: number,
    addressBucket: number,
  ): [net.Socket, Registered, StreamListener] | undefined {
    const registered = this.#listeners.get(listenerId);
    try {
      const listener = registered?.listener;
      if (listener?.transport !== 'stream')
        throw this.#adoptError(listenerId, 'it is not a stream listener here');
      const socket = new net.Socket({
        fd,
        readable: true,
        writable: true,
        allowHalfOpen: listener.allowHalfOpen,
        // Node's (undocumented, long-standing) option to not start reading: see StreamListener.peeksFirst.
        ...(listener.peeksFirst === true ? { manualStart: true } : {}),
      } as net.SocketConstructorOpts);
      this.#count(COUNTER_ADOPTED);
      socket.once('close', () => Atomics.sub(this.#addresses, addressBucket, 1));
      return [socket, registered!, listener];
    } catch (error) {
      Atomics.sub(this.#addresses, addressBucket, 1);
      // The fd is ours now: close it, or it leaks.
      try {
        closeFd(fd);
      } catch {}
      this.#count(COUNTER_ADOPT_FAILED);
      this.#reportFault(
        listenerId,
        error instanceof AdoptError ? error : this.#adoptError(listenerId, `fd ${fd}`, error),
      );
      return undefined;
    }
  }

  /**
   * A connection for a listener that owns raw fds (StreamListener.adoptFd): no net.Socket is made; the
   * listener takes the fd (running no handler yet) and reports its end, which the shard counts as it counts
   * a socket's close.
   */
  #adoptNative(fd: number, registered: Registered, listener: StreamListener, addressBucket: number): void {
    try {
      let open = true;
      this.#nativeOpen++;
      listener.adoptFd!(fd, () => {
        if (!open) return;
        open = false;
        this.#nativeOpen--;
        Atomics.sub(this.#addresses, addressBucket, 1);
        this.#count(COUNTER_CLOSED);
        if (this.#openConnections() === 0) this.#allClosed?.();
      });
      this.#count(COUNTER_ADOPTED);
    } catch (error) {
      this.#nativeOpen--;
      Atomics.sub(this.#addresses, addressBucket, 1);
      try {
        closeFd(fd);
      } catch {}
      this.#count(COUNTER_ADOPT_FAILED);
      this.#reportFault(registered.spec.id, this.#adoptError(registered.spec.id, `fd ${fd}`, error));
    }
  }

  #openConnections(): number {
    return this.#sockets.size + this.#nativeOpen;
  }

  /** handoff 'transfer': a socket Node accepted in the coordinator and moved here (paused until now). */
  #adoptTransferred(socket: net.Socket, listenerId: number, addressBucket: number): void {
    const registered = this.#listeners.get(listenerId);
    socket.once('close', () => Atomics.sub(this.#addresses, addressBucket, 1));
    // The engine gives listeners that adopt raw fds the native handoff only.
    if (registered?.listener.transport !== 'stream' || registered.listener.adoptFd !== undefined) {
      socket.destroy();
      this.#count(COUNTER_ADOPT_FAILED);
      this.#reportFault(listenerId, this.#adoptError(listenerId, 'it is not a stream listener here'));
      return;
    }
    this.#count(COUNTER_ADOPTED);
    this.#serve(socket, registered, registered.listener);
    if (registered.listener.peeksFirst !== true) socket.resume();
  }

  /** What every connection gets before its listener takes it. */
  #serve(socket: net.Socket, registered: Registered, listener: StreamListener): void {
    // Nagle off, as net/http servers default to: a response written in several pieces must not wait 40 ms.
    socket.setNoDelay(true);
    this.#sockets.add(socket);
    socket.once('close', () => {
      this.#sockets.delete(socket);
      this.#count(COUNTER_CLOSED);
      if (this.#openConnections() === 0) this.#allClosed?.();
    });
    // Resets and broken pipes are a client's business, not a reason to end the shard.
    socket.on('error', () => this.#count(COUNTER_SOCKET_ERRORS));
    const idleTimeoutMs = registered.spec.idleTimeoutMs ?? 0;
    if (idleTimeoutMs > 0 && listener.timesIdle !== true) {
      socket.setTimeout(idleTimeoutMs, () => {
        this.#count(COUNTER_IDLE_TIMEOUTS);
        socket.destroy();
      });
    }
    // The listener may run handler code at once (a TCP handler's connection(), an HTTP server's
    // 'connection' listeners added in setup): a throw costs this connection, not the batch or the pump.
    try {
      listener.serve(socket);
    } catch (error) {
      socket.destroy();
      this.#reportHandlerError(registered.spec.id, error);
    }
  }

  #reportHandlerError(listenerId: number, error: unknown): void {
    this.#count(COUNTER_HANDLER_ERRORS);
    this.#post({ type: 'handler-error', listenerId, error: serializeError(error) });
  }

  /** An engine fault, not the handler's: the coordinator reports it as the engine's 'error'. */
  #reportFault(listenerId: number, error: unknown): void {
    this.#post({ type: 'fault', listenerId, error: serializeError(error) });
  }

  /** `what` could not be adopted; the cause's message joins the reason, which is what crosses threads. */
  #adoptError(listenerId: number, what: string, cause?: unknown): AdoptError {
    const reason =
      cause === undefined ? what : `${what}: ${cause instanceof Error ? cause.message : String(cause)}`;
    return new AdoptError(this.#init.shardId, listenerId, reason, cause);
  }

  #onMessage(message: CoordinatorMessage): void {
    if (message.type === 'adopt')
      this.#adoptTransferred(message.socket, message.listenerId, message.addressBucket);
    // A shard drains once: a close that comes while a reload retires it waits for that drain's 'drained'
    // (a second drain would take records from a control ring that is its replacement's by then).
    else if (message.type === 'drain' && !this.#draining) void this.#drain(message.timeoutMs, false);
    else if (message.type === 'retire' && !this.#draining) void this.#drain(message.timeoutMs, true);
    else if (message.type === 'take-over') this.#takeOver?.();
    else if (message.type === 'secure-context') this.#setSecureContext(message.listenerId, message.tls);
  }

  /** engine.setSecureContext(): the listener's new connections get the new credentials. */
  #setSecureContext(listenerId: number, settings: TlsSettings): void {
    const listener = this.#listeners.get(listenerId)?.listener;
    try {
      if (listener?.transport !== 'stream' || listener.setSecureContext === undefined)
        throw new Error(`listener ${listenerId} serves no TLS in shard ${this.#init.shardId}`);
      listener.setSecureContext(settings);
      this.#post({ type: 'secure-context-set', listenerId });
    } catch (error) {
      this.#post({ type: 'secure-context-failed', listenerId, error: serializeError(error) });
    }
  }

  /**
   * balance 'kernel': this shard accepts for itself on `fd`, its duplicate of one of the listener's
   * SO_REUSEPORT sockets (the coordinator keeps the socket; closing the server closes only this copy).
   */
  #listenKernel(fd: number, listenerId: number): void {
    const registered = this.#listeners.get(listenerId);
    const failed = (error: unknown) => {
      try {
        closeFd(fd);
      } catch {}
      this.#post({ type: 'listen-failed', listenerId, fd, error: serializeError(error) });
    };
    const listener = registered?.listener;
    if (registered?.spec.kernel === undefined || listener?.transport !== 'stream') {
      failed(new Error(`no 'kernel' listener ${listenerId} in shard ${this.#init.shardId}`));
      return;
    }
    if (listener.adoptFd !== undefined) {
      this.#listenKernelNative(registered, listener, fd);
      return;
    }
    const { maxConnections } = registered.spec.kernel;
    const server = net.createServer(
      { allowHalfOpen: listener.allowHalfOpen, pauseOnConnect: listener.peeksFirst === true },
      (socket) => {
        this.#count(COUNTER_ACCEPTED);
        this.#serve(socket, registered, listener);
      },
    );
    if (maxConnections > 0) {
      server.maxConnections = maxConnections;
      server.on('drop', () => this.#count(COUNTER_KERNEL_REFUSED));
    }
    server.once('error', failed);
    server.listen({ fd }, () => {
      server.off('error', failed);
      this.#post({ type: 'listening', listenerId, fd });
    });
    registered.kernel.push(server);
  }

  /**
   * balance 'kernel' for a listener that adopts raw fds: accept4 in batches on `fd` (this shard's duplicate
   * of one of the listener's sockets, which it owns now), straight to the listener.
   */
  #listenKernelNative(registered: Registered, listener: StreamListener, fd: number): void {
    const listenerId = registered.spec.id;
    const { maxConnections } = registered.spec.kernel!;
    try {
      const out = new Int32Array(ACCEPT_BATCH * ACCEPTED_STRIDE);
      const accepting = startAccepting(fd, out, (count) => {
        if (count < 0) {
          // Paused (EMFILE and the like): the kernel keeps the backlog meanwhile.
          setTimeout(() => {
            if (registered.kernelNative.some((native) => native.accepting === accepting))
              resumeAccepting(accepting);
          }, ACCEPT_BACKOFF_MS);
          return;
        }
        for (let i = 0; i < count; i++) {
          const accepted = out[i * ACCEPTED_STRIDE + ACCEPTED_FD]!;
          // As net.Server's maxConnections does for the socket listeners: over the cap, closed at once
          // (counted refused, not accepted).
          if (maxConnections > 0 && this.#nativeOpen >= maxConnections) {
            this.#count(COUNTER_KERNEL_REFUSED);
            closeFd(accepted);
            continue;
          }
          this.#count(COUNTER_ACCEPTED);
          const bucket = out[i * ACCEPTED_STRIDE + ACCEPTED_ADDRESS_HASH]! & ADDRESS_BUCKET_MASK;
          Atomics.add(this.#addresses, bucket, 1);
          this.#adoptNative(accepted, registered, listener, bucket);
        }
      });
      registered.kernelNative.push({ fd, accepting });
      this.#post({ type: 'listening', listenerId, fd });
    } catch (error) {
      try {
        closeFd(fd);
      } catch {}
      this.#post({ type: 'listen-failed', listenerId, fd, error: serializeError(error) });
    }
  }

  /**
   * Stops taking work, lets what is in flight finish for up to `timeoutMs`, destroys the rest and ends the
   * thread. Each listener's hooks run in the order served-listener.ts describes. `retiring`: a reload's
   * replacement waits to take over; it may as soon as this shard has let go of the rings ('retired').
   */
  async #drain(timeoutMs: number, retiring: boolean): Promise<void> {
    this.#draining = true;
    const registered = [...this.#listeners.values()];
    for (const entry of registered) {
      for (const server of entry.kernel) server.close();
      for (const { fd, accepting } of entry.kernelNative.splice(0)) {
        stopAccepting(accepting);
        closeFd(fd);
      }
    }
    await Promise.all(registered.map(({ listener }) => listener.stop?.()));
    this.#mesh.close();
    this.#icmp?.close();
    // Connections handed off so far are still ours to serve; whatever comes later is the replacement's.
    this.#takeControlRecords();
    if (retiring) this.#post({ type: 'retired' });
    await this.#offloadPool?.close();
    for (const { listener } of registered) await listener.drain?.();
    await this.#connectionsClosed(timeoutMs);
    // Native connections still open are destroyed by their listeners' `close` below.
    const destroyed = this.#openConnections();
    const closed = [...this.#sockets].map(
      (socket) => new Promise((resolve) => socket.once('close', resolve)),
    );
    for (const socket of this.#sockets) socket.destroy();
    await Promise.all(closed);
    for (const { listener } of registered) listener.close?.();
    this.#services.tls?.peek.close();
    this.#post({ type: 'drained', destroyed });
    this.#port.close();
  }

  /** Resolves once every connection has closed, or after `timeoutMs`. */
  async #connectionsClosed(timeoutMs: number): Promise<void> {
    if (this.#openConnections() === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      this.#allClosed = resolve;
      timer = setTimeout(resolve, timeoutMs);
    });
    clearTimeout(timer);
    this.#allClosed = undefined;
  }

  #count(counter: number): void {
    Atomics.add(this.#counters, counterIndex(this.#init.shardId, counter), 1);
  }

  #post(message: ShardMessage): void {
    this.#port.postMessage(message);
  }
}
