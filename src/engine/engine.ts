import { EventEmitter } from 'node:events';
import { unlinkSync } from 'node:fs';
import type { Server } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import {
  type EngineFailedError,
  EngineStateError,
  type HandlerError,
  HandoverError,
  InvalidOptionError,
  ReloadError,
  type SockshardError,
} from '../errors.js';
import { dup, unixListen } from '../native/binding.js';
import {
  createAddressTable,
  createShardCounters,
  createUdpCounters,
  type ListenerSpec,
  type ShardInit,
} from '../protocol.js';
import { createRing } from '../ring/index.js';
import { checkInteger } from '../validate.js';
import { Acceptor } from './acceptor.js';
import { createBalancer } from './balancer.js';
import {
  type EngineStats,
  engineStats,
  type ListenerStats,
  listenerStats,
  type UdpPortStats,
  udpPortStats,
} from './engine-stats.js';
import { HandoverServer, type OfferedSocket, type Predecessor, takeOver } from './handover.js';
import { type Health, healthStatusCode } from './health.js';
import { type EndpointRoute, startHttpEndpoint } from './http-endpoint.js';
import { IcmpRouter } from './icmp-router.js';
import { InheritedSockets, type SocketKey, type SocketOrigin } from './inherited-sockets.js';
import { KernelSockets } from './kernel-sockets.js';
import { listenerSpecs } from './listener-specs.js';
import { renderMetrics } from './metrics.js';
import {
  type EngineOptions,
  type HandlerModule,
  type Http2Options,
  type HttpOptions,
  type HttpsOptions,
  handlerUrl,
  type IcmpOptions,
  type ResolvedEngineOptions,
  type ResolvedIcmpListener,
  type ResolvedListener,
  type ResolvedUdpListener,
  resolveEngineOptions,
  resolveIcmpListener,
  resolveListener,
  resolveUdpListener,
  type StreamKind,
  type StreamOptions,
  type TcpOptions,
  type TlsListenerOptions,
  type UdpOptions,
} from './options.js';
import { requireSecureListeners, SecureListeners } from './secure-listeners.js';
import {
  EXIT_GRACE_MS,
  type ShardEvents,
  ShardHandle,
  type ShardWorkerOptions,
  type SpareShard,
} from './shard-handle.js';
import { canTransferSockets } from './socket-transfer.js';
import { type EngineState, Supervisor } from './supervisor.js';
import { systemdSockets } from './systemd.js';
import type { SecureContextOptions } from './tls-options.js';
import {
  bindUdpListener,
  closeUdpBindings,
  handOver,
  moveUdpPorts,
  rebindUdp,
  type UdpBinding,
} from './udp-binder.js';
import { readUdpDrops } from './udp-kernel-drops.js';

/**
 * The engine's events. 'error' is only emitted when someone listens for it (see `Engine`).
 *
 * @example
 * ```ts
 * import { createEngine } from 'sockshard';
 * const engine = createEngine();
 * engine.on('error', (error) => console.error(error.code, error.message));
 * engine.on('handler-error', (error) => console.error(error.listenerId, error.message));
 * engine.on('shard-exit', (shardId, exitCode) => console.warn(`shard ${shardId} exited: ${exitCode}`));
 * ```
 */
export interface EngineEvents {
  /**
   * Something failed that the engine survived and that is not a handler's fault: an accept error
   * (reported once per listener and error code every 10 s while it lasts; every one is counted in the
   * listener's `acceptErrors`), a shard that died (ShardExitError) or was given up past its restart
   * budget while others serve on (ShardRestartBudgetError), a socket a shard could not adopt
   * (AdoptError), a batched UDP receive error (SyscallError).
   */
  error: [error: SockshardError];
  /**
   * Every shard died and none will be restarted: the engine has released every port and closed ('close'
   * follows at once). A listener for this event handles the failure; with none, the engine ends the
   * process with exit code 1 after 'close' (so that systemd, Kubernetes or pm2 starts it afresh), having
   * written the error to stderr.
   */
  failed: [error: EngineFailedError];
  /** A handler threw or rejected; its connection was ended, its shard serves on. */
  'handler-error': [error: HandlerError];
  'shard-online': [shardId: number];
  'shard-exit': [shardId: number, exitCode: number];
  /** A successor process serves on this engine's sockets (`handover`): this engine now drains and closes. */
  'handed-over': [successorPid: number];
  /** This engine started on the sockets of a predecessor process (`handover`), which now drains. */
  'took-over': [predecessorPid: number];
  /** A rolling reload finished: every shard runs the code of this generation (1 for the first reload). */
  reloaded: [generation: number];
  close: [];
}

/**
 * A connection listener's address (tcp, http, tls, https, http2), from `engine.addresses()`.
 *
 * @example
 * ```ts
 * import { createEngine } from 'sockshard';
 * const engine = createEngine();
 * engine.http({ port: 0, handler: './app.js' });
 * await engine.start();
 * const [{ host, port }] = engine.addresses();
 * console.log(`http://${host}:${port}/`);
 * ```
 */
export interface ListenerAddress {
  /** The listener's id: the order of the engine's listener calls (`.tcp()`, `.http()`, `.tls()`, ..., `.icmp()`), from 0. */
  readonly id: number;
  readonly kind: StreamKind;
  readonly host: string;
  readonly port: number;
  /** Where its socket came from: bound by this engine, from systemd, or from a predecessor (hand-over). */
  readonly socket: SocketOrigin;
}

/**
 *
 * @example
 * ```ts
 * process.once('SIGTERM', () => void engine.close({ timeoutMs: 10_000 }));
 * ```
 */
export interface CloseOptions {
  /** How long shards may take to let in-flight work finish before the rest is destroyed. Default 5000. */
  readonly timeoutMs?: number;
}

export interface ReloadOptions {
  /**
   * New handler modules, by listener id (`engine.addresses()` and `udpPorts()` show the ids); the other
   * listeners re-import the modules they have, as they are on disk now.
   */
  readonly handlers?: Readonly<Record<number, HandlerModule>>;
  /** How long each replaced shard may take to finish its in-flight work. Default: `closeTimeoutMs`. */
  readonly timeoutMs?: number;
}

/** Where the engine is in its life; `state` (EngineState) adds what supervision knows while it runs. */
type Lifecycle = 'idle' | 'starting' | 'running' | 'closing' | 'closed';

/** The exit code of a process whose engine failed with no `failed` listener. */
const FAILED_EXIT_CODE = 1;

interface Listener {
  readonly config: ResolvedListener;
  port: number;
  origin: SocketOrigin;
  acceptor?: Acceptor;
  /** balance 'kernel': the SO_REUSEPORT sockets the shards accept on. */
  kernel?: KernelSockets;
  readonly stats: ListenerStats;
}

/** A coordinator HTTP endpoint (metrics, health) and the socket it serves on. */
interface Endpoint {
  readonly server: Server;
  readonly port: number;
  readonly fd: number;
}

/**
 * A sockshard engine: one coordinator (the thread that calls `createEngine`, normally the main thread)
 * that accepts connections and hands them to `shards` worker threads, which run the handler modules.
 *
 * Unlike a plain EventEmitter, the engine does not throw when it emits 'error' with no listener: errors
 * it survives become process warnings instead. The one thing that ends the process is a failure the
 * engine cannot survive (every shard given up past its restart budget) when the application does not
 * listen for 'failed' (see EngineEvents).
 *
 * @example
 * ```ts
 * import { createEngine } from 'sockshard';
 * const engine = createEngine({ shards: 2 });
 * engine.http({ port: 8080, handler: new URL('./app.js', import.meta.url) });
 * await engine.start();
 * console.log(engine.addresses()[0].port, engine.stats().total);
 * await engine.close({ timeoutMs: 2000 });
 * ```
 */
export class Engine extends EventEmitter<EngineEvents> {
  readonly #options: ResolvedEngineOptions;
  readonly #listeners: Listener[] = [];
  readonly #udpListeners: ResolvedUdpListener[] = [];
  readonly #udpBindings: UdpBinding[] = [];
  /** UDP port → the shard that hears about its unreachable peers (the first that serves it). */
  readonly #udpOwners = new Map<number, number>();
  #icmpListener: ResolvedIcmpListener | undefined;
  #icmp: IcmpRouter | undefined;
  readonly #inits: ShardInit[] = [];
  /** Ticket keys and certificate reloads, when there is a TLS listener. */
  #secure: SecureListeners | undefined;
  readonly #supervisor: Supervisor;
  /** How shard workers are started (a spare's too). */
  readonly #workerOptions: ShardWorkerOptions;
  #metrics: Endpoint | undefined;
  #health: Endpoint | undefined;
  /** The sockets this process was started with (systemd, a predecessor), until the listeners claim them. */
  #inherited = new InheritedSockets();
  #handover: HandoverServer | undefined;
  /** A successor has asked for this engine's sockets (health: draining), or has taken them over. */
  #handingOver = false;
  #handedOver = false;
  /** A rolling reload in progress (health: draining). */
  #reloading = false;
  /** How many rolling reloads have completed. */
  #generation = 0;
  /**
   * A reload's workers that are not in `#shards`: replacements until they take over, retired shards until
   * they have drained. A close ends them too.
   */
  readonly #reloadWorkers = new Map<ShardHandle, Promise<void>>();
  #udpCounters: Float64Array = new Float64Array(0);
  /** One-owner UDP ports whose shard was given up while no other served: the next shard online takes them. */
  #udpWaiting: UdpBinding[] = [];
  #shards: ShardHandle[] = [];
  #state: Lifecycle = 'idle';
  #failed = false;
  #closing: Promise<void> | undefined;

  constructor(options: EngineOptions = {}) {
    super();
    this.#options = resolveEngineOptions(options);
    const { resourceLimits, limits } = this.#options;
    this.#workerOptions = {
      maxConnections: limits.maxConnectionsPerShard,
      ...(resourceLimits === undefined ? {} : { resourceLimits }),
    };
    this.#supervisor = new Supervisor(this.#options.restart, this.#options.shards, {
      running: () => this.#state === 'running',
      respawn: (dead, spare) => this.#respawn(dead, spare),
      giveUp: (dead) => this.#giveUp(dead),
      fail: (error) => this.#fail(error),
      preload: () => this.#inits[0]!.listeners.map((spec) => spec.handler),
      workerOptions: this.#workerOptions,
      report: (error) => this.#report(error),
    });
  }

  /** How many shards this engine runs (the `shards` option, or its default: `os.availableParallelism()`). */
  get shards(): number {
    return this.#options.shards;
  }

  /** Adds a plain TCP listener; every connection goes to the handler module's `connection()`. */
  tcp(options: TcpOptions): this {
    return this.#add('tcp', options);
  }

  /** Adds an HTTP listener served by a `node:http` server in every shard. */
  http(options: HttpOptions): this {
    return this.#add('http', options);
  }

  /**
   * Adds a TLS listener: each connection's handshake runs in the shard that owns it, then the handler
   * module's `connection(tlsSocket)` gets it (ALPN with `alpnProtocols`, SNI with `sni`).
   */
  tls(options: TlsListenerOptions): this {
    return this.#add('tls', options);
  }

  /** Adds an HTTPS listener: engine.http()'s serving over TLS. */
  https(options: HttpsOptions): this {
    return this.#add('https', options);
  }

  /**
   * Adds an HTTP/2 listener: over TLS with ALPN (`allowHTTP1` also lets HTTP/1.1 clients in), or h2c with
   * `cleartext`. Every stream of a connection is served in the shard that owns the connection.
   */
  http2(options: Http2Options): this {
    return this.#add('http2', options);
  }

  /**
   * New credentials for TLS listener `listenerId` (an id from `engine.addresses()`): read and checked as
   * start() does (a bad key or certificate rejects with ERR_TLS_CREDENTIALS, naming the option, and
   * changes nothing), then rolled to every shard; resolves once all of them use it for new connections.
   * Open connections keep theirs. With `handleSignals`, SIGHUP reloads every TLS listener from its options
   * (paths are read again).
   */
  setSecureContext(listenerId: number, options: SecureContextOptions): Promise<void> {
    const secure = requireSecureListeners(this.#secure, this.#state === 'running', 'setSecureContext');
    // A reload's new shards start from the specs as they were when it began (SIGHUP reads certificates first).
    if (this.#reloading) throw new EngineStateError('setSecureContext() while a reload is in progress');
    return secure.setSecureContext(listenerId, options, this.#shards);
  }

  /**
   * New session-ticket keys now (they also rotate every `sessionTickets.rotationMs`): tickets made with the
   * keys in use until now still resume for one more period, older ones no longer do.
   */
  rotateTicketKeys(): void {
    requireSecureListeners(this.#secure, this.#state === 'running', 'rotateTicketKeys').ticketKeys.rotate();
  }

  /**
   * Serves ICMP through one raw socket in the coordinator (needs CAP_NET_RAW: root, or
   * `setcap cap_net_raw+ep` on node): every shard can then `context.ping()`, and the handler module (if
   * any) gets the packets routed to its shard. Once per engine.
   */
  icmp(options: IcmpOptions = {}): this {
    this.#idle('icmp');
    if (this.#icmpListener !== undefined) throw new EngineStateError('engine.icmp() may be called once');
    this.#icmpListener = resolveIcmpListener(this.#nextListenerId(), this.#options.shards, options);
    return this;
  }

  /**
   * Adds UDP ports: each belongs to one shard (`port % shards` unless `shardFor` says otherwise), which
   * serves it with no hop, or, with `reusePort`, every shard serves it and the kernel spreads the flows.
   */
  udp(options: UdpOptions): this {
    this.#idle('udp');
    this.#udpListeners.push(resolveUdpListener(this.#nextListenerId(), options));
    return this;
  }

  #idle(method: string): void {
    if (this.#state !== 'idle')
      throw new EngineStateError(`engine.${method}() must be called before start()`);
  }

  #nextListenerId(): number {
    return this.#listeners.length + this.#udpListeners.length + (this.#icmpListener === undefined ? 0 : 1);
  }

  #add(kind: StreamKind, options: StreamOptions): this {
    this.#idle(kind);
    const config = resolveListener(
      this.#nextListenerId(),
      kind,
      options,
      this.#options.sessionTickets.rotationMs,
    );
    const listener: Listener = {
      config,
      port: config.port,
      origin: 'bound',
      get stats() {
        return listenerStats(config, listener.port, listener.origin, listener.acceptor);
      },
    };
    this.#listeners.push(listener);
    return this;
  }

  /**
   * Starts the shards, loads every handler module in each, then binds and starts accepting. Rejects
   * (having started nothing that stays running) on a handler that cannot load, a port in use, ...
   *
   * With `handover`, a predecessor serving that path hands its sockets over first (the listeners serve on
   * them instead of binding), and is told once this engine serves; with systemd socket activation, the
   * listeners take the sockets systemd passed.
   */
  async start(): Promise<void> {
    if (this.#state !== 'idle') throw new EngineStateError(`start() on a ${this.#state} engine`);
    if (this.#nextListenerId() === 0) {
      throw new InvalidOptionError(
        'listeners',
        'add a listener (engine.tcp(), .http() or .udp()) before start()',
      );
    }
    this.#state = 'starting';
    const { handover, socketActivation } = this.#options;
    let predecessor: Predecessor | undefined;
    try {
      if (handover !== undefined) {
        const taken = await takeOver(handover.path, handover.timeoutMs);
        predecessor = taken.predecessor;
        if (taken.stale) unlinkStale(handover.path);
      }
      this.#inherited = new InheritedSockets(
        predecessor?.sockets ?? [],
        socketActivation ? systemdSockets() : undefined,
      );
      if (this.#icmpListener !== undefined) {
        // First: without CAP_NET_RAW this throws before anything has started.
        this.#icmp = new IcmpRouter(
          this.#icmpListener,
          this.#options.shards,
          (port) => this.#udpOwners.get(port) ?? -1,
          (error) => this.#report(error),
        );
      }
      this.#spawnShards();
      await Promise.all(this.#shards.map((shard) => shard.ready));
      for (const shard of this.#shards) this.#online(shard);
      let portIndex = 0;
      for (const listener of this.#udpListeners) {
        await bindUdpListener(listener, this.#shards, portIndex, this.#udpBindings, this.#inherited);
        portIndex += listener.ports.length;
      }
      for (const binding of this.#udpBindings) this.#udpOwners.set(binding.port, binding.shards[0]!);
      this.#icmp?.start();
      const handoff = await this.#handoff();
      for (const listener of this.#listeners) {
        if (listener.config.balance === 'kernel') await this.#listenInShards(listener);
        // The fast path serves raw fds (the shard owns them natively): it always takes the native handoff.
        else await this.#listenHere(listener, listener.config.http?.api === 'fast' ? 'native' : handoff);
      }
      await this.#startEndpoints();
      if (handover !== undefined) {
        const fd = predecessor?.takeHandoverSocket() ?? unixListen(handover.path);
        this.#handover = new HandoverServer(fd, handover.path, this.#handoverHost);
        this.#handover.start();
      }
      const unused = this.#inherited.closeUnclaimed();
      if (unused.length > 0 && handover !== undefined) {
        const keys = unused.map((socket) => socket.key).join(', ');
        this.#report(
          new HandoverError(
            handover.path,
            `${unused.length} sockets of the predecessor fit no listener here and were closed: ${keys}`,
          ),
        );
      }
      const { handleSignals } = this.#options;
      if (handleSignals) {
        process.once('SIGTERM', this.#onSignal);
        process.once('SIGINT', this.#onSignal);
        process.on('SIGHUP', this.#onReloadSignal);
      }
      this.#state = 'running';
      this.#supervisor.startSpare();
    } catch (error) {
      predecessor?.abandon();
      this.#inherited.closeUnclaimed();
      await this.#shutdown(0);
      this.#state = 'closed';
      throw error;
    }
    if (predecessor !== undefined) {
      try {
        predecessor.serving();
        this.emit('took-over', predecessor.pid);
      } catch (error) {
        // It went away meanwhile: this engine serves on every socket all the same.
        this.#report(new HandoverError(handover!.path, 'the predecessor went away before it heard', error));
      }
    }
  }

  /** The metrics and health endpoints, on sockets bound here or inherited. */
  async #startEndpoints(): Promise<void> {
    const { metrics, health } = this.#options;
    const healthPath = health?.path ?? '/health';
    const healthRoute: EndpointRoute = () => {
      const state = this.health();
      return {
        status: healthStatusCode(state),
        type: 'application/json',
        body: `${JSON.stringify(state)}\n`,
      };
    };
    if (metrics !== undefined) {
      const routes = {
        '/metrics': () => ({
          status: 200,
          type: 'text/plain; version=0.0.4',
          body: renderMetrics(this.stats()),
        }),
        ...(health?.port === undefined ? { [healthPath]: healthRoute } : {}),
      };
      this.#metrics = await this.#endpoint('metrics', metrics.host, metrics.port, routes);
    }
    if (health?.port !== undefined) {
      this.#health = await this.#endpoint('health', health.host, health.port, { [healthPath]: healthRoute });
    }
  }

  async #endpoint(
    key: 'metrics' | 'health',
    host: string,
    port: number,
    routes: Readonly<Record<string, EndpointRoute>>,
  ): Promise<Endpoint> {
    const socket = this.#inherited.listen({ key, type: 'stream', host, port });
    return { server: await startHttpEndpoint(socket.fd, routes), port: socket.port, fd: socket.fd };
  }

  #spawnShards(): void {
    const { shards, controlRingBytes, meshRingBytes } = this.#options;
    const counters = createShardCounters(shards);
    const addresses = createAddressTable(shards);
    const udpPorts = this.#udpListeners.reduce((total, listener) => total + listener.ports.length, 0);
    const udpCounters = createUdpCounters(udpPorts, shards);
    this.#udpCounters = new Float64Array(udpCounters);
    const stream = this.#listeners.map(({ config }) => config);
    const specs: ListenerSpec[] = listenerSpecs({
      stream,
      udp: this.#udpListeners,
      icmp: this.#icmpListener,
      maxConnectionsPerShard: this.#options.limits.maxConnectionsPerShard,
    });
    if (stream.some((config) => config.tls !== undefined))
      this.#secure = new SecureListeners(stream, specs, this.#options.sessionTickets.rotationMs);
    // mesh[i][j]: the ring from shard i to shard j.
    const mesh = Array.from({ length: shards }, (_, from) =>
      Array.from({ length: shards }, (_, to) =>
        from === to ? null : createRing({ capacity: meshRingBytes }),
      ),
    );
    for (let shardId = 0; shardId < shards; shardId++) {
      const control = createRing({ capacity: controlRingBytes });
      const meshOut = mesh[shardId]!;
      const meshIn = mesh.map((row) => row[shardId]!);
      const init: ShardInit = {
        shardId,
        shards,
        control,
        counters,
        udpCounters,
        addresses,
        meshOut,
        meshIn,
        listeners: specs,
        ...(this.#icmp === undefined ? {} : { icmp: this.#icmp.shardInit(shardId) }),
        ...(this.#options.offload === undefined ? {} : { offload: this.#options.offload }),
        ...(this.#secure === undefined ? {} : { ticketKeys: this.#secure.ticketKeys.buffer }),
        generation: 0,
      };
      this.#inits.push(init);
      this.#shards.push(new ShardHandle(init, this.#shardEvents, this.#workerOptions));
    }
  }

  readonly #shardEvents: ShardEvents = {
    handlerError: (error) => this.emit('handler-error', error),
    fault: (error) => this.#report(error),
    exit: (shard, exitCode, expected) => {
      this.emit('shard-exit', shard.id, exitCode);
      if (!expected && this.#state === 'running' && this.#shards[shard.id] === shard)
        this.#supervisor.shardDied(shard, exitCode);
    },
  };

  /**
   * The next incarnation of a dead shard (the supervisor's restart): it takes the dead one's place in the
   * balancers, then gets its UDP sockets back and listens again for 'kernel' listeners.
   */
  async #respawn(dead: ShardHandle, spare: SpareShard | undefined): Promise<void> {
    const init = this.#inits[dead.id]!;
    const shard = new ShardHandle(init, this.#shardEvents, this.#workerOptions, dead, spare);
    this.#shards[dead.id] = shard;
    try {
      await shard.ready;
      await rebindUdp(shard, this.#udpBindings);
      for (const listener of this.#listeners) await this.#listenInShard(shard, listener);
      await handOver(shard, this.#udpWaiting.splice(0));
      this.#online(shard);
    } catch (error) {
      // Ended as a death, not a close: the supervisor counts it against the budget like any other.
      if (shard.alive) await shard.terminate(false);
      throw error;
    }
  }

  #online(shard: ShardHandle): void {
    this.#supervisor.shardOnline(shard.id);
    for (const binding of this.#udpBindings)
      if (!binding.reusePort && binding.shards[0] === shard.id) this.#udpOwners.set(binding.port, shard.id);
    this.emit('shard-online', shard.id);
  }

  /**
   * The supervisor gave a dead shard up and the engine serves on with the others: the fds still in its
   * control ring are closed and its counts settled (ShardHandle.release), and its UDP ports move to a
   * serving shard (see moveUdpPorts). It is out of every balancer already (not alive), and its 'kernel'
   * listening sockets closed with its worker.
   */
  #giveUp(dead: ShardHandle): void {
    dead.release();
    const serving = this.#shards.find(
      (shard) => shard.alive && this.#supervisor.shardState(shard.id) === 'serving',
    );
    for (const [port, owner] of this.#udpOwners)
      if (owner === dead.id) this.#udpOwners.set(port, serving?.id ?? -1);
    moveUdpPorts(dead.id, serving, this.#udpBindings).then(
      (waiting) => this.#udpWaiting.push(...waiting),
      (error: unknown) => this.#report(error as SockshardError),
    );
    // Its 'kernel' sockets too: the coordinator keeps them open, and what the kernel hashes to them waits.
    for (const { config, kernel } of this.#listeners) {
      const moved = kernel?.move(dead.id, serving?.id) ?? [];
      if (serving === undefined) continue; // they wait for the next shard online
      for (const fd of moved) {
        serving.listenOn(dup(fd), config.id).catch((error: unknown) => this.#report(error as SockshardError));
      }
    }
  }

  /**
   * No shard is left: release every port, close, then say so ('failed', 'close') and, unless the
   * application handles 'failed', end the process with a non-zero code.
   */
  #fail(error: EngineFailedError): void {
    this.#state = 'closing';
    this.#failed = true;
    this.#closing = this.#shutdown(0).then(() => {
      this.#state = 'closed';
      const handled = this.listenerCount('failed') > 0;
      this.emit('failed', error);
      this.emit('close');
      if (handled) return;
      process.stderr.write(`sockshard: ${error.stack ?? error.message}\n`);
      process.exit(FAILED_EXIT_CODE);
    });
  }

  async #listenHere(listener: Listener, handoff: 'native' | 'transfer'): Promise<void> {
    const { config } = listener;
    if (config.balance === 'kernel') return;
    const acceptor = new Acceptor(
      config,
      this.#shards,
      createBalancer(config.balance, this.#shards),
      this.#options.limits,
      (error) => this.#report(error),
    );
    listener.acceptor = acceptor;
    const socket = this.#inherited.listen(
      {
        key: `stream:${config.id}`,
        type: 'stream',
        host: config.host,
        port: config.port,
        ...(config.fdName === undefined ? {} : { fdName: config.fdName }),
      },
      { backlog: config.backlog },
    );
    listener.origin = socket.origin;
    await acceptor.open(socket.fd, handoff);
    listener.port = acceptor.port;
  }

  /** The handoff path this Node supports and the options ask for. */
  async #handoff(): Promise<'native' | 'transfer'> {
    const wanted = this.#options.handoff;
    if (wanted === 'native') return 'native';
    const supported = await canTransferSockets();
    if (wanted === 'auto') return supported ? 'transfer' : 'native';
    if (!supported) {
      throw new InvalidOptionError(
        'handoff',
        `'transfer' needs a Node that moves sockets by postMessage (24+), this is ${process.version}`,
      );
    }
    return 'transfer';
  }

  /** balance 'kernel': the coordinator binds (or inherits) the SO_REUSEPORT sockets; each shard accepts on its own. */
  async #listenInShards(listener: Listener): Promise<void> {
    const kernel = KernelSockets.open(listener.config, this.#options.shards, this.#inherited);
    listener.kernel = kernel;
    listener.port = kernel.port;
    listener.origin = kernel.origin;
    for (const shard of this.#shards) await this.#listenInShard(shard, listener);
  }

  /** Hands `shard` a duplicate of each of its 'kernel' sockets of `listener` (none for other listeners). */
  async #listenInShard(shard: ShardHandle, listener: Listener): Promise<void> {
    const { kernel } = listener;
    if (kernel === undefined) return;
    kernel.adoptWaiting(shard.id);
    for (const fd of kernel.copiesFor(shard.id)) {
      await shard.listenOn(dup(fd), listener.config.id);
    }
  }

  /**
   * Where the connection listeners (tcp, http, tls, https, http2) listen: their bound ports are the kernel's picks for port 0 once
   * `start()` has resolved. Their counters are in `stats().listeners`; UDP ports are in `udpPorts()`.
   */
  addresses(): ListenerAddress[] {
    return this.#listeners.map(({ config, port, origin }) => ({
      id: config.id,
      kind: config.kind,
      host: config.host,
      port,
      socket: origin,
    }));
  }

  /**
   * Where the engine is: `serving` (every shard serves), `degraded` (some shard restarting or given up),
   * `failed` (none left: the engine closed), or a step of its start or close. See EngineState.
   */
  get state(): EngineState {
    if (this.#failed) return 'failed';
    if (this.#state === 'running') return this.#supervisor.health();
    return this.#state;
  }

  /**
   * What a load balancer should do with this engine now (see `Health`): `ready` while it serves (also
   * `degraded`, with fewer shards), `draining` once a close, a reload or a hand-over has started, `down`
   * when it does not serve (starting, closed, failed, or no shard serving right now). Served over HTTP by
   * the `health` option (and on the metrics port).
   */
  health(): Health {
    const total = this.#shards.length;
    const shardsServing = this.#shards.filter((shard) => shard.alive).length;
    const say = (status: Health['status'], reason: string): Health => ({
      status,
      reason,
      shardsServing,
      shards: total,
    });
    const state = this.state;
    switch (state) {
      case 'idle':
      case 'starting':
        return say('down', 'starting');
      case 'closing':
        return say('draining', 'closing');
      case 'closed':
      case 'failed':
        return say('down', state);
      case 'serving':
      case 'degraded':
        if (this.#handingOver) return say('draining', 'handing over');
        if (this.#reloading) return say('draining', 'reloading');
        return shardsServing === 0 ? say('down', 'no shard serving') : say('ready', state);
    }
  }

  /** Counters of every shard and listener, read from shared memory. */
  stats(): EngineStats {
    return engineStats(
      this.state,
      this.#shards,
      (shardId) => this.#supervisor.shardState(shardId),
      this.#listeners,
      this.udpPorts(),
      this.#supervisor.spareStandingBy,
      this.#icmp?.stats(),
    );
  }

  /** The bound UDP ports (the kernel's picks for port 0) with their owning shards and counters. */
  udpPorts(): UdpPortStats[] {
    const shards = this.#options.shards;
    const drops = this.#udpBindings.length === 0 ? new Map<string, number>() : readUdpDrops();
    return this.#udpBindings.map((binding) => udpPortStats(binding, this.#udpCounters, shards, drops));
  }

  /**
   * Stops accepting, lets shards finish in-flight work for up to `timeoutMs`, destroys what is left,
   * and ends every shard. Safe to call more than once.
   */
  close(options: CloseOptions = {}): Promise<void> {
    const timeoutMs = checkInteger('timeoutMs', options.timeoutMs ?? 5_000, 0, 2 ** 31 - 1);
    if (this.#closing !== undefined) return this.#closing;
    if (this.#state === 'idle' || this.#state === 'closed') {
      this.#state = 'closed';
      this.#closing = Promise.resolve();
      return this.#closing;
    }
    this.#state = 'closing';
    // From here the health check says draining; a balancer that reads it stops sending before anything is
    // refused. After a hand-over the successor already accepts: nothing to wait for.
    const drainDelayMs = this.#handedOver ? 0 : (this.#options.health?.drainDelayMs ?? 0);
    const shutdown = () =>
      this.#shutdown(timeoutMs).then(() => {
        this.#state = 'closed';
        this.emit('close');
      });
    // With no delay, the listening sockets close before close() returns: a connection attempted after it
    // is refused.
    this.#closing = drainDelayMs === 0 ? shutdown() : delay(drainDelayMs).then(shutdown);
    return this.#closing;
  }

  readonly #onSignal = (): void => {
    void this.close({ timeoutMs: this.#options.closeTimeoutMs });
  };

  /**
   * SIGHUP with handleSignals, as nginx does it: every TLS listener's certificates read again from their
   * files (if there are TLS listeners), then a rolling reload. A failure is emitted as 'error' (see
   * reload()) and stops there: a certificate that cannot be read changes nothing, code included.
   */
  readonly #onReloadSignal = (): void => {
    if (this.#state !== 'running') return;
    const certificates = this.#secure?.reload(this.#shards) ?? Promise.resolve();
    certificates.then(
      () => this.reload().catch(() => {}),
      (error: SockshardError) => this.#report(error),
    );
  };

  /**
   * A rolling reload: every shard is replaced, one at a time, by a new worker that imports the handler
   * modules afresh (so a changed file takes effect), or the new `handlers`. The engine never stops
   * accepting, and its health says draining meanwhile.
   *
   * First a replacement is prepared for every shard (handlers imported, listeners and their `setup` hooks
   * run), while the old shards serve on; if one fails, the reload is rolled back before any shard is
   * touched, and rejects with a ReloadError (also emitted as 'error'): the engine serves the old code. Then,
   * shard by shard, the old one stops taking work and drains (in-flight requests finish, each keep-alive
   * connection closes after its current response, the rest is destroyed at `timeoutMs`), while its
   * replacement takes over its control ring (what was handed off meanwhile waits there), its UDP sockets
   * (with the datagrams the kernel queued), its 'kernel' listening sockets and its ring mesh. The spare
   * shard worker is replaced too, so that a shard that dies later restarts with the new code.
   * `stats().shards[i].generation` says which reload each shard's code came from; 'reloaded' follows.
   *
   * @example
   * ```ts
   * await engine.reload({ timeoutMs: 5_000 }); // the handler files as they are on disk now
   * await engine.reload({ handlers: { 0: new URL('./app-v2.js', import.meta.url) } });
   * ```
   */
  async reload(options: ReloadOptions = {}): Promise<void> {
    const timeoutMs = checkInteger(
      'timeoutMs',
      options.timeoutMs ?? this.#options.closeTimeoutMs,
      0,
      2 ** 31 - 1,
    );
    if (this.#state !== 'running') throw new EngineStateError(`reload() on a ${this.#state} engine`);
    if (this.#reloading) throw new EngineStateError('reload() while a reload is in progress');
    if (this.#handingOver) throw new EngineStateError('reload() while a process hand-over is in progress');
    const specs = this.#reloadedSpecs(options.handlers ?? {});
    const generation = this.#generation + 1;
    this.#reloading = true;
    try {
      await this.#rollingReload(specs, generation, timeoutMs);
      this.#generation = generation;
    } catch (error) {
      const failure =
        error instanceof ReloadError
          ? error
          : new ReloadError(generation, (error as Error).message ?? String(error), error);
      this.#report(failure);
      throw failure;
    } finally {
      this.#reloading = false;
    }
    this.emit('reloaded', generation);
  }

  /** The listener specs with `handlers` in place of their modules; every key must be a listener id. */
  #reloadedSpecs(handlers: Readonly<Record<number, HandlerModule>>): ListenerSpec[] {
    if (typeof handlers !== 'object' || handlers === null)
      throw new InvalidOptionError('handlers', 'must be { [listenerId]: module }');
    const specs = this.#inits[0]!.listeners;
    for (const key of Object.keys(handlers)) {
      if (!specs.some((spec) => String(spec.id) === key)) {
        const ids = specs.map((spec) => spec.id).join(', ');
        throw new InvalidOptionError(
          'handlers',
          `no listener ${key} has a handler module (listeners: ${ids})`,
        );
      }
    }
    return specs.map((spec) => {
      const module = handlers[spec.id];
      return module === undefined ? spec : { ...spec, handler: handlerUrl(`handlers.${spec.id}`, module) };
    });
  }

  async #rollingReload(specs: ListenerSpec[], generation: number, timeoutMs: number): Promise<void> {
    // The spare imported the code being replaced: a shard that dies from here on restarts cold.
    await this.#supervisor.dropSpare();
    const inits = this.#inits.map((init): ShardInit => ({ ...init, listeners: specs, generation }));
    // 1. A replacement for every shard, prepared one after the other while the old shards serve: a module
    //    that fails to load fails here, before any shard is touched.
    const replacements: ShardHandle[] = [];
    try {
      for (const init of inits) {
        if (this.#state !== 'running') throw new ReloadError(generation, 'the engine is closing');
        const replacement = new ShardHandle(
          { ...init, standby: true },
          this.#shardEvents,
          this.#workerOptions,
        );
        replacement.ready.catch(() => {}); // a rolled-back replacement never gets ready: awaited elsewhere
        replacements.push(replacement);
        this.#reloadWorkers.set(replacement, Promise.resolve());
        await replacement.prepared;
      }
    } catch (error) {
      await Promise.all(replacements.map((replacement) => this.#endReloadWorker(replacement)));
      if (error instanceof ReloadError) throw error;
      throw new ReloadError(generation, `a new shard could not start: ${(error as Error).message}`, error);
    }
    // Certificate reloads from here on update the new specs, which every init holds once its shard is replaced.
    this.#secure?.follow(specs);
    // 2. Shard by shard, the old one retires and its replacement takes over its rings and sockets.
    const drained: Promise<void>[] = [];
    for (const [shardId, replacement] of replacements.entries()) {
      this.#inits[shardId] = inits[shardId]!; // a restart from here on runs the new code
      const old = this.#shards[shardId]!;
      if (this.#state !== 'running' || !old.alive) {
        // Closing, or dead (a restart will load the new code), or given up: nothing to take over.
        await this.#endReloadWorker(replacement);
        continue;
      }
      // The next shard is replaced once this one serves; the old ones drain meanwhile, side by side.
      drained.push((await this.#replace(old, replacement, timeoutMs)).ended);
    }
    await Promise.all(drained);
    // A spare started by a restart during the reload may have imported a mix of old and new code.
    await this.#supervisor.dropSpare();
    this.#supervisor.startSpare();
  }

  /**
   * One step of a rolling reload: `old` retires and `replacement` takes over and serves. Resolves then;
   * `ended` settles once `old` has drained (or been ended at its deadline).
   */
  async #replace(
    old: ShardHandle,
    replacement: ShardHandle,
    timeoutMs: number,
  ): Promise<{ ended: Promise<void> }> {
    const { retired, drained } = old.retire(timeoutMs);
    const ended = Promise.race([drained, delay(timeoutMs + EXIT_GRACE_MS, undefined, { ref: false })]).then(
      () => this.#endReloadWorker(old),
    );
    this.#reloadWorkers.set(old, ended);
    await retired;
    try {
      await replacement.takeOver(old);
      // A close that started meanwhile did not see it among the shards: it ends it with the reload's workers.
      if (this.#state !== 'running') return { ended };
      this.#reloadWorkers.delete(replacement);
      this.#shards[old.id] = replacement;
      await rebindUdp(replacement, this.#udpBindings);
      for (const listener of this.#listeners) await this.#listenInShard(replacement, listener);
      this.#online(replacement);
    } catch (error) {
      // It died while taking over: a crash of the new code, which supervision handles like any other.
      this.#reloadWorkers.delete(replacement);
      this.#shards[old.id] = replacement;
      old.alive = false;
      this.#report(error as SockshardError);
    }
    return { ended };
  }

  async #endReloadWorker(shard: ShardHandle): Promise<void> {
    this.#reloadWorkers.delete(shard);
    await shard.terminate();
  }

  /** The port of the Prometheus endpoint (`metrics` option), once started. */
  metricsPort(): number | undefined {
    return this.#metrics?.port;
  }

  /** The port of the health endpoint (`health: { port }`), once started; without one, see metricsPort(). */
  healthPort(): number | undefined {
    return this.#health?.port;
  }

  /** The predecessor's side of a process hand-over (see handover.ts). */
  readonly #handoverHost = {
    begin: (): string | undefined => {
      if (this.#state !== 'running') return `this engine is ${this.#state}`;
      if (this.#reloading) return 'a rolling reload is in progress';
      this.#handingOver = true;
      return undefined;
    },
    offer: (): OfferedSocket[] => this.#offer(),
    serving: (successorPid: number): void => {
      this.#handedOver = true;
      this.emit('handed-over', successorPid);
      void this.close({ timeoutMs: this.#options.closeTimeoutMs });
    },
    aborted: (error: HandoverError): void => {
      this.#handingOver = false;
      this.#report(error);
    },
  };

  /** Every socket this engine serves on, by role, for a successor to take over. */
  #offer(): OfferedSocket[] {
    const offered: OfferedSocket[] = [];
    const add = (key: SocketKey, fd: number, configuredPort: number) =>
      offered.push({ key, fd, configuredPort });
    for (const { config, acceptor, kernel } of this.#listeners) {
      if (acceptor !== undefined) add(`stream:${config.id}`, acceptor.fd, config.port);
      for (const [copy, fd] of (kernel?.copies ?? []).entries())
        add(`kernel:${config.id}:${copy}`, fd, config.port);
    }
    for (const listener of this.#udpListeners) {
      const bindings = this.#udpBindings.filter((binding) => binding.listenerId === listener.id);
      for (const [i, binding] of bindings.entries()) {
        for (const [copy, fd] of binding.kept.entries())
          add(`udp:${listener.id}:${i}:${copy}`, fd, listener.ports[i]!);
      }
    }
    const { metrics, health } = this.#options;
    if (this.#metrics !== undefined) add('metrics', this.#metrics.fd, metrics!.port);
    if (this.#health !== undefined) add('health', this.#health.fd, health!.port!);
    if (this.#handover !== undefined) add('handover', this.#handover.fd, 0);
    return offered;
  }

  async #shutdown(timeoutMs: number): Promise<void> {
    process.off('SIGTERM', this.#onSignal);
    process.off('SIGINT', this.#onSignal);
    process.off('SIGHUP', this.#onReloadSignal);
    this.#secure?.close();
    const spareStopped = this.#supervisor.close();
    for (const listener of this.#listeners) {
      listener.acceptor?.close();
      listener.kernel?.close();
    }
    const handover = this.#handover;
    this.#handover = undefined;
    if (handover !== undefined) {
      handover.close();
      // After a hand-over the successor serves the path.
      if (!this.#handedOver) unlinkStale(handover.path);
    }
    for (const endpoint of [this.#metrics, this.#health]) {
      if (endpoint === undefined) continue;
      endpoint.server.closeAllConnections();
      await new Promise((resolve) => endpoint.server.close(resolve));
    }
    this.#metrics = undefined;
    this.#health = undefined;
    const deadline = delay(timeoutMs + EXIT_GRACE_MS, undefined, { ref: false });
    await Promise.all([
      spareStopped,
      ...this.#shards.map((shard) => this.#stopShard(shard, timeoutMs, deadline)),
      // A reload in progress: retired shards finish their drain (within the close's deadline too), the
      // replacements that have not taken over end now.
      ...[...this.#reloadWorkers].map(([shard, ended]) =>
        Promise.race([ended, deadline]).then(() => shard.terminate()),
      ),
    ]);
    // Every worker has ended: whatever is still in a control ring (a shard that died during the close, or
    // whose drain was cut off) is closed and counted here, so the totals end at zero open connections.
    for (const shard of this.#shards) shard.release();
    closeUdpBindings(this.#udpBindings);
    this.#icmp?.close();
    handover?.endSession();
  }

  async #stopShard(shard: ShardHandle, timeoutMs: number, deadline: Promise<void>): Promise<void> {
    const settled = (): void => {};
    // Still starting: let it finish or fail first. Terminating a thread in the middle of loading modules
    // can cut off its last file writes (a loader's cache, say) and leave their fds open in this process.
    if (!shard.alive && !shard.startFailed)
      await Promise.race([
        shard.ready.then(settled, settled),
        delay(EXIT_GRACE_MS, undefined, { ref: false }),
      ]);
    if (shard.alive) await Promise.race([shard.drain(timeoutMs).then(() => shard.exited), deadline]);
    else if (shard.startFailed)
      await Promise.race([shard.exited, delay(EXIT_GRACE_MS, undefined, { ref: false })]);
    await shard.terminate();
  }

  #report(error: SockshardError): void {
    if (this.listenerCount('error') > 0) this.emit('error', error);
    else process.emitWarning(error.message, { type: 'SockshardWarning', code: error.code });
  }
}

/** Removes a Unix socket file nobody serves any more (a crashed predecessor's, or this engine's own). */
function unlinkStale(path: string): void {
  try {
    unlinkSync(path);
  } catch {}
}

/**
 * Creates an engine; add listeners, then `await engine.start()`.
 *
 * @example
 * ```ts
 * import { createEngine } from 'sockshard';
 * const engine = createEngine({ shards: 2 });
 * engine.tcp({ port: 7000, handler: new URL('./echo.js', import.meta.url) });
 * await engine.start();
 * ```
 */
export function createEngine(options: EngineOptions = {}): Engine {
  return new Engine(options);
}
