import { EventEmitter } from 'node:events';
import type { Server } from 'node:http';
import {
  EngineStateError,
  type HandlerError,
  InvalidOptionError,
  ShardExitError,
  ShardRestartBudgetError,
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
import { startMetricsServer } from './metrics.js';
import {
  type EngineOptions,
  type HttpOptions,
  type IcmpOptions,
  type ResolvedEngineOptions,
  type ResolvedIcmpListener,
  type ResolvedListener,
  type ResolvedUdpListener,
  resolveEngineOptions,
  resolveIcmpListener,
  resolveListener,
  resolveUdpListener,
  type TcpOptions,
  type UdpOptions,
} from './options.js';
import { reviveError } from './revive-error.js';
import { type ShardEvents, ShardHandle, SpareShard } from './shard-handle.js';
import { canTransferSockets } from './socket-transfer.js';
import { bindUdpListener, closeUdpBindings, rebindUdp, type UdpBinding } from './udp-binder.js';
import { readUdpDrops } from './udp-kernel-drops.js';

/** The engine's events. 'error' is only emitted when someone listens for it (see `Engine`). */
export interface EngineEvents {
  /** Something failed that the engine survived: an accept error, a shard that died. */
  error: [error: SockshardError];
  /** A handler threw or rejected; its connection was ended, its shard serves on. */
  'handler-error': [error: HandlerError];
  'shard-online': [shardId: number];
  'shard-exit': [shardId: number, exitCode: number];
  close: [];
}

export interface CloseOptions {
  /** How long shards may take to let in-flight work finish before the rest is destroyed. Default 5000. */
  readonly timeoutMs?: number;
}

type EngineState = 'idle' | 'starting' | 'running' | 'closing' | 'closed';

/** Extra time a shard gets after its drain deadline to report and exit before it is terminated. */
const EXIT_GRACE_MS = 2_000;

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
 * it survives become process warnings instead, so an embedded engine never ends the process by itself.
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
  readonly options: ResolvedEngineOptions;
  readonly #listeners: Listener[] = [];
  readonly #udpListeners: ResolvedUdpListener[] = [];
  readonly #udpBindings: UdpBinding[] = [];
  /** UDP port → the shard that hears about its unreachable peers (the first that serves it). */
  readonly #udpOwners = new Map<number, number>();
  #icmpListener: ResolvedIcmpListener | undefined;
  #icmp: IcmpRouter | undefined;
  readonly #inits: ShardInit[] = [];
  readonly #restartTimes: number[][] = [];
  readonly #restartTimers = new Set<NodeJS.Timeout>();
  #metrics: { readonly server: Server; readonly port: number } | undefined;
  /** A worker standing by to become the next shard that dies (restart.spare). */
  #spare: SpareShard | undefined;
  #udpCounters: Float64Array = new Float64Array(0);
  #shards: ShardHandle[] = [];
  #state: EngineState = 'idle';
  #closing: Promise<void> | undefined;

  constructor(options: EngineOptions = {}) {
    super();
    this.options = resolveEngineOptions(options);
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
   * Serves ICMP through one raw socket in the coordinator (needs CAP_NET_RAW: root, or
   * `setcap cap_net_raw+ep` on node): every shard can then `context.ping()`, and the handler module (if
   * any) gets the packets routed to its shard. Once per engine.
   */
  icmp(options: IcmpOptions = {}): this {
    this.#idle('icmp');
    if (this.#icmpListener !== undefined) throw new EngineStateError('engine.icmp() may be called once');
    this.#icmpListener = resolveIcmpListener(this.#nextListenerId(), this.options.shards, options);
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

  #add(kind: 'tcp' | 'http', options: TcpOptions | HttpOptions): this {
    this.#idle(kind);
    const config = resolveListener(this.#nextListenerId(), kind, options);
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
          this.options.shards,
          (port) => this.#udpOwners.get(port) ?? -1,
          (error) => this.#report(error),
        );
      }
      this.#spawnShards();
      await Promise.all(this.#shards.map((shard) => shard.ready));
      for (const shard of this.#shards) this.emit('shard-online', shard.id);
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
        else await this.#listenHere(listener, handoff);
      }
      const { metrics, handleSignals } = this.options;
      if (metrics !== undefined) {
        this.#metrics = await startMetricsServer(metrics.host, metrics.port, () => this.stats());
      }
      if (handleSignals) {
        process.once('SIGTERM', this.#onSignal);
        process.once('SIGINT', this.#onSignal);
      }
      this.#state = 'running';
      this.#startSpare();
    } catch (error) {
      await this.#shutdown(0);
      this.#state = 'closed';
      throw error;
    }
  }

  #spawnShards(): void {
    const { shards, controlRingBytes, meshRingBytes } = this.options;
    const counters = createShardCounters(shards);
    const addresses = createAddressTable(shards);
    const udpPorts = this.#udpListeners.reduce((total, listener) => total + listener.ports.length, 0);
    const udpCounters = createUdpCounters(udpPorts, shards);
    this.#udpCounters = new Float64Array(udpCounters);
    const streamSpecs: ListenerSpec[] = this.#listeners.map(({ config }) => ({
      id: config.id,
      kind: config.kind,
      handler: config.handler,
      ...(config.http === undefined ? {} : { http: config.http }),
      ...(config.balance === 'kernel'
        ? {
            kernel: {
              host: config.host,
              port: config.port,
              backlog: config.backlog,
              maxConnections: this.options.limits.maxConnectionsPerShard,
            },
          }
        : {}),
      ...(config.idleTimeoutMs === 0 ? {} : { idleTimeoutMs: config.idleTimeoutMs }),
    }));
    const udpSpecs: ListenerSpec[] = this.#udpListeners.map((config) => ({
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
    }));
    const icmp = this.#icmpListener;
    const icmpSpecs: ListenerSpec[] =
      icmp?.handler === undefined ? [] : [{ id: icmp.id, kind: 'icmp', handler: icmp.handler }];
    const specs = [...streamSpecs, ...udpSpecs, ...icmpSpecs].sort((a, b) => a.id - b.id);
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
        ...(this.options.offload === undefined ? {} : { offload: this.options.offload }),
      };
      this.#inits.push(init);
      this.#shards.push(new ShardHandle(init, this.#shardEvents, this.#shardOptions()));
    }
  }

  #shardOptions() {
    const { resourceLimits, limits } = this.options;
    return {
      maxConnections: limits.maxConnectionsPerShard,
      ...(resourceLimits === undefined ? {} : { resourceLimits }),
    };
  }

  readonly #shardEvents: ShardEvents = {
    handlerError: (error) => this.emit('handler-error', error),
    exit: (shard, exitCode, expected) => {
      this.emit('shard-exit', shard.id, exitCode);
      if (!expected && this.#state === 'running' && this.#shards[shard.id] === shard)
        this.#onShardDeath(shard, exitCode);
    },
  };

  /**
   * Supervision: a shard that died is out of the balancers at once (not alive), the others are untouched.
   * It is restarted at once the first time, then after a back-off that doubles with each recent restart,
   * within a budget of `maxRestarts` per `windowMs`; past it the engine reports a fatal error and stops.
   */
  #onShardDeath(shard: ShardHandle, exitCode: number): void {
    this.#report(new ShardExitError(shard.id, exitCode));
    const policy = this.options.restart;
    if (policy === false) return;
    const now = performance.now();
    const recent = (this.#restartTimes[shard.id] ?? []).filter((time) => now - time < policy.windowMs);
    if (recent.length >= policy.maxRestarts) {
      this.#report(new ShardRestartBudgetError(shard.id, policy.maxRestarts, policy.windowMs));
      return;
    }
    recent.push(now);
    this.#restartTimes[shard.id] = recent;
    // The first death in a window restarts at once; repeated deaths back off, doubling each time.
    const backoff =
      recent.length === 1 ? 0 : Math.min(policy.maxBackoffMs, policy.backoffMs * 2 ** (recent.length - 2));
    const timer = setTimeout(() => {
      this.#restartTimers.delete(timer);
      void this.#restart(shard);
    }, backoff);
    this.#restartTimers.add(timer);
  }

  async #restart(dead: ShardHandle): Promise<void> {
    if (this.#state !== 'running') return;
    const spare = this.#spare?.alive === true ? this.#spare : undefined;
    this.#spare = undefined;
    const init = this.#inits[dead.id]!;
    const shard = new ShardHandle(init, this.#shardEvents, this.#shardOptions(), dead, spare);
    this.#shards[dead.id] = shard;
    try {
      await shard.ready;
      await rebindUdp(shard, this.#udpBindings);
      for (const listener of this.#listeners) {
        if (listener.config.balance === 'kernel') await this.#listenInShard(shard, listener);
      }
      this.emit('shard-online', shard.id);
    } catch (error) {
      // It died again while starting: its exit goes through #onShardDeath (and the budget) like any other.
      if (!(error instanceof ShardExitError)) this.#report(error as SockshardError);
      if (shard.alive) await shard.terminate();
    }
    this.#startSpare();
  }

  /** Starts a spare shard worker, if the restart policy wants one and none stands by. */
  #startSpare(): void {
    const policy = this.options.restart;
    if (this.#state !== 'running' || policy === false || !policy.spare || this.#spare?.alive === true) return;
    const preload = this.#inits[0]!.listeners.map((spec) => spec.handler);
    this.#spare = new SpareShard(preload, this.#shardOptions());
  }

  /** Ends the spare, once it has finished loading (cutting a thread off mid-import can leak a loader's fd). */
  async #stopSpare(): Promise<void> {
    const spare = this.#spare;
    this.#spare = undefined;
    if (spare === undefined) return;
    await Promise.race([spare.settled, delay(EXIT_GRACE_MS)]);
    await spare.terminate();
  }

  async #listenHere(listener: Listener, handoff: 'native' | 'transfer'): Promise<void> {
    const { config } = listener;
    if (config.balance === 'kernel') return;
    const acceptor = new Acceptor(
      config,
      this.#shards,
      createBalancer(config.balance, this.#shards),
      this.options.limits,
      (error) => this.#report(error),
    );
    listener.acceptor = acceptor;
    await acceptor.open(handoff);
    listener.port = acceptor.port;
  }

  /** The handoff path this Node supports and the options ask for. */
  async #handoff(): Promise<'native' | 'transfer'> {
    const wanted = this.options.handoff;
    if (wanted === 'native') return 'native';
    const supported = await canTransferSockets();
    if (wanted === 'auto') return supported ? 'transfer' : 'native';
    if (!supported) {
      throw new InvalidOptionError(
        'handoff',
        `'transfer' needs a Node that moves sockets by postMessage (26+), this is ${process.version}`,
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

  /** The TCP and HTTP listeners with their bound ports (the kernel's picks for port 0); UDP: `udpPorts()`. */
  addresses(): ListenerStats[] {
    return this.#listeners.map((listener) => listener.stats);
  }

  /** Counters of every shard and listener, read from shared memory. */
  stats(): EngineStats {
    const spare = this.#spare?.standingBy === true;
    return engineStats(this.#shards, this.#listeners, this.udpPorts(), spare, this.#icmp?.stats());
  }

  /** The bound UDP ports (the kernel's picks for port 0) with their owning shards and counters. */
  udpPorts(): UdpPortStats[] {
    const shards = this.options.shards;
    const drops = this.#udpBindings.length === 0 ? new Map<string, number>() : readUdpDrops();
    return this.#udpBindings.map((binding) => udpPortStats(binding, this.#udpCounters, shards, drops));
  }

  /**
   * Stops accepting, lets shards finish in-flight work for up to `timeoutMs`, destroys what is left,
   * and ends every shard. Safe to call more than once.
   */
  close(options: CloseOptions = {}): Promise<void> {
    const timeoutMs = options.timeoutMs ?? 5_000;
    if (!Number.isInteger(timeoutMs) || timeoutMs < 0) {
      throw new InvalidOptionError('timeoutMs', `must be a non-negative integer, got ${String(timeoutMs)}`);
    }
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
    void this.close({ timeoutMs: this.options.closeTimeoutMs });
  };

  /** The port of the Prometheus endpoint (`metrics` option), once started. */
  metricsPort(): number | undefined {
    return this.#metrics?.port;
  }

  async #shutdown(timeoutMs: number): Promise<void> {
    process.off('SIGTERM', this.#onSignal);
    process.off('SIGINT', this.#onSignal);
    const metrics = this.#metrics;
    this.#metrics = undefined;
    if (metrics !== undefined) {
      metrics.server.closeAllConnections();
      await new Promise((resolve) => metrics.server.close(resolve));
    }
    for (const timer of this.#restartTimers) clearTimeout(timer);
    this.#restartTimers.clear();
    for (const listener of this.#listeners) {
      listener.acceptor?.close();
    }
    const deadline = delay(timeoutMs + EXIT_GRACE_MS);
    await Promise.all([
      this.#stopSpare(),
      ...this.#shards.map((shard) => this.#stopShard(shard, timeoutMs, deadline)),
    ]);
    closeUdpBindings(this.#udpBindings);
    this.#icmp?.close();
  }

  async #stopShard(shard: ShardHandle, timeoutMs: number, deadline: Promise<void>): Promise<void> {
    const settled = (): void => {};
    // Still starting: let it finish or fail first. Terminating a thread in the middle of loading modules
    // can cut off its last file writes (a loader's cache, say) and leave their fds open in this process.
    if (!shard.alive && !shard.startFailed)
      await Promise.race([shard.ready.then(settled, settled), delay(EXIT_GRACE_MS)]);
    if (shard.alive) await Promise.race([shard.drain(timeoutMs).then(() => shard.exited), deadline]);
    else if (shard.startFailed) await Promise.race([shard.exited, delay(EXIT_GRACE_MS)]);
    await shard.terminate();
  }

  #report(error: SockshardError): void {
    if (this.listenerCount('error') > 0) this.emit('error', error);
    else process.emitWarning(error.message, { type: 'SockshardWarning', code: error.code });
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** Creates an engine; add listeners, then `await engine.start()`. */
export function createEngine(options: EngineOptions = {}): Engine {
  return new Engine(options);
}
