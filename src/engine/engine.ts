import { EventEmitter } from 'node:events';
import type { Server } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import {
  type EngineFailedError,
  EngineStateError,
  type HandlerError,
  InvalidOptionError,
  reviveError,
  type SockshardError,
} from '../errors.js';
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
import { IcmpRouter } from './icmp-router.js';
import { listenerSpecs } from './listener-specs.js';
import { startMetricsServer } from './metrics.js';
import {
  type EngineOptions,
  type Http2Options,
  type HttpOptions,
  type HttpsOptions,
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

/** Where the engine is in its life; `state` (EngineState) adds what supervision knows while it runs. */
type Lifecycle = 'idle' | 'starting' | 'running' | 'closing' | 'closed';

/** The exit code of a process whose engine failed with no `failed` listener. */
const FAILED_EXIT_CODE = 1;

interface Listener {
  readonly config: ResolvedListener;
  port: number;
  acceptor?: Acceptor;
  readonly stats: ListenerStats;
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
  #metrics: { readonly server: Server; readonly port: number } | undefined;
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
      get stats() {
        return listenerStats(config, listener.port, listener.acceptor);
      },
    };
    this.#listeners.push(listener);
    return this;
  }

  /**
   * Starts the shards, loads every handler module in each, then binds and starts accepting. Rejects
   * (having started nothing that stays running) on a handler that cannot load, a port in use, ...
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
    try {
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
        await bindUdpListener(listener, this.#shards, portIndex, this.#udpBindings);
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
      const { metrics, handleSignals } = this.#options;
      if (metrics !== undefined) {
        this.#metrics = await startMetricsServer(metrics.host, metrics.port, () => this.stats());
      }
      if (handleSignals) {
        process.once('SIGTERM', this.#onSignal);
        process.once('SIGINT', this.#onSignal);
        if (this.#secure !== undefined) process.on('SIGHUP', this.#onReload);
      }
      this.#state = 'running';
      this.#supervisor.startSpare();
    } catch (error) {
      await this.#shutdown(0);
      this.#state = 'closed';
      throw error;
    }
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
      for (const listener of this.#listeners) {
        if (listener.config.balance === 'kernel') await this.#listenInShard(shard, listener);
      }
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
    await acceptor.open(handoff);
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

  /** balance 'kernel': shard 0 binds first (and picks the port if it is 0), then the others join it. */
  async #listenInShards(listener: Listener): Promise<void> {
    for (const shard of this.#shards) listener.port = await this.#listenInShard(shard, listener);
  }

  #listenInShard(shard: ShardHandle, listener: Listener): Promise<number> {
    const listenerId = listener.config.id;
    const listening = shard.waitFor((message) => {
      if (message.type === 'listen-failed' && message.listenerId === listenerId) {
        throw reviveError(message.error, shard.id, { listenerId, port: listener.port });
      }
      return message.type === 'listening' && message.listenerId === listenerId ? message.port : undefined;
    });
    shard.post({ type: 'listen', listenerId, port: listener.port });
    return listening;
  }

  /**
   * Where the connection listeners (tcp, http, tls, https, http2) listen: their bound ports are the kernel's picks for port 0 once
   * `start()` has resolved. Their counters are in `stats().listeners`; UDP ports are in `udpPorts()`.
   */
  addresses(): ListenerAddress[] {
    return this.#listeners.map(({ config, port }) => ({
      id: config.id,
      kind: config.kind,
      host: config.host,
      port,
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
    this.#closing = this.#shutdown(timeoutMs).then(() => {
      this.#state = 'closed';
      this.emit('close');
    });
    return this.#closing;
  }

  readonly #onSignal = (): void => {
    void this.close({ timeoutMs: this.#options.closeTimeoutMs });
  };

  /** SIGHUP: every TLS listener's certificates read again; a failure is reported and changes nothing. */
  readonly #onReload = (): void => {
    if (this.#state !== 'running') return;
    this.#secure?.reload(this.#shards).catch((error: SockshardError) => this.#report(error));
  };

  /** The port of the Prometheus endpoint (`metrics` option), once started. */
  metricsPort(): number | undefined {
    return this.#metrics?.port;
  }

  async #shutdown(timeoutMs: number): Promise<void> {
    process.off('SIGTERM', this.#onSignal);
    process.off('SIGINT', this.#onSignal);
    process.off('SIGHUP', this.#onReload);
    this.#secure?.close();
    const spareStopped = this.#supervisor.close();
    for (const listener of this.#listeners) {
      listener.acceptor?.close();
    }
    const metrics = this.#metrics;
    this.#metrics = undefined;
    if (metrics !== undefined) {
      metrics.server.closeAllConnections();
      await new Promise((resolve) => metrics.server.close(resolve));
    }
    const deadline = delay(timeoutMs + EXIT_GRACE_MS, undefined, { ref: false });
    await Promise.all([
      spareStopped,
      ...this.#shards.map((shard) => this.#stopShard(shard, timeoutMs, deadline)),
    ]);
    // Every worker has ended: whatever is still in a control ring (a shard that died during the close, or
    // whose drain was cut off) is closed and counted here, so the totals end at zero open connections.
    for (const shard of this.#shards) shard.release();
    closeUdpBindings(this.#udpBindings);
    this.#icmp?.close();
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
