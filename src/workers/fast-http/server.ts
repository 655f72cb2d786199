import { DRAIN_POLL_MS } from '../served-listener.js';
import { type ConnectionOwner, FastConnection, type FastListener } from './connection.js';
import { Llhttp } from './llhttp.js';
import { type StreamSink, StreamsTransport } from './streams-transport.js';

/** What the shard does for the fast path: count and report. */
export interface FastServerHooks {
  count(counter: number): void;
  reportHandlerError(listenerId: number, error: unknown): void;
}

/** Sweep period bounds: timeouts fire within a quarter of their length, at most a second late. */
const MIN_SWEEP_MS = 10;
const MAX_SWEEP_MS = 1000;

/**
 * The fast HTTP path of one shard: every fast listener's connections, one llhttp instance, one native
 * stream group, and one timer that sweeps the connections for their timeouts (node:http checks header and
 * request timeouts the same way, every connectionsCheckingInterval, instead of a timer per socket).
 */
export class FastHttpServer implements ConnectionOwner, StreamSink {
  readonly llhttp = new Llhttp();
  readonly transport: StreamsTransport;
  now = Date.now();
  draining = false;
  readonly #hooks: FastServerHooks;
  readonly #connections: (FastConnection | undefined)[] = [];
  readonly #open = new Set<FastConnection>();
  #sweepMs = MAX_SWEEP_MS;
  #sweep: NodeJS.Timeout | undefined;
  /** While draining: ends the idle connections that have gone quiet (see FastConnection.drain). */
  #drainPoll: NodeJS.Timeout | undefined;

  constructor(hooks: FastServerHooks) {
    this.#hooks = hooks;
    this.transport = new StreamsTransport(this);
  }

  /** Tunes the sweep to a listener's shortest timeout (call once per listener before serving). */
  addListener(listener: FastListener, checkingIntervalMs: number): void {
    const { keepAliveTimeout, headersTimeout, requestTimeout, idleTimeoutMs } = listener.settings;
    for (const ms of [
      keepAliveTimeout / 4,
      idleTimeoutMs / 4,
      checkingIntervalMs,
      headersTimeout / 4,
      requestTimeout / 4,
    ]) {
      if (ms > 0) this.#sweepMs = Math.max(MIN_SWEEP_MS, Math.min(this.#sweepMs, ms));
    }
  }

  /** Serves `fd` (a connected TCP socket, ours from now on) for `listener`; `closed` runs once at its end. */
  adopt(fd: number, listener: FastListener, closed: () => void): void {
    const id = this.transport.open(fd);
    this.now = Date.now();
    const connection = new FastConnection(id, listener, this, closed);
    this.#connections[id] = connection;
    this.#open.add(connection);
    if (this.#sweep === undefined) {
      this.#sweep = setInterval(() => this.#sweepAll(), this.#sweepMs);
      this.#sweep.unref();
    }
  }

  batch(): void {
    this.now = Date.now();
  }

  connection(id: number): FastConnection | undefined {
    return this.#connections[id];
  }

  count(counter: number): void {
    this.#hooks.count(counter);
  }

  reportHandlerError(listenerId: number, error: unknown): void {
    this.#hooks.reportHandlerError(listenerId, error);
  }

  closed(connection: FastConnection): void {
    if (this.#connections[connection.id] === connection) this.#connections[connection.id] = undefined;
    this.#open.delete(connection);
    connection.onClosed();
  }

  /**
   * engine.close() or a reload: busy connections end after their response in progress, idle ones once
   * they have been quiet for DRAIN_QUIET_MS (polled every DRAIN_POLL_MS).
   */
  drain(listenerId: number): void {
    this.draining = true;
    this.now = Date.now();
    for (const connection of [...this.#open]) if (connection.listener.id === listenerId) connection.drain();
    this.transport.flush();
    this.#drainPoll ??= setInterval(() => {
      this.now = Date.now();
      for (const connection of [...this.#open]) connection.closeIfQuiet(this.now);
      this.transport.flush();
    }, DRAIN_POLL_MS);
  }

  /** Destroys the listener's connections that are still open; with none left at all, stops for good. */
  close(listenerId: number): boolean {
    for (const connection of [...this.#open]) if (connection.listener.id === listenerId) connection.destroy();
    if (this.#open.size > 0) return false;
    clearInterval(this.#sweep);
    clearInterval(this.#drainPoll);
    this.transport.stop();
    return true;
  }

  #sweepAll(): void {
    this.now = Date.now();
    for (const connection of this.#open) connection.sweep(this.now);
    this.transport.flush();
  }
}
