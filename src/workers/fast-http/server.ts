import { type ConnectionOwner, FastConnection, type FastListener } from './connection.js';
import { Llhttp } from './llhttp.js';
import { type StreamSink, StreamsTransport } from './streams-transport.js';

/** What the shard does for the fast path: count, report, and account for closed connections. */
export interface FastServerHooks {
  count(counter: number): void;
  reportHandlerError(listenerId: number, error: unknown): void;
  /** A connection is gone: count it closed and take it off its address bucket. */
  closed(connection: FastConnection): void;
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
  #onEmpty: (() => void) | undefined;

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

  /** Serves `fd` (a connected TCP socket, now ours) for `listener`. */
  adopt(fd: number, listener: FastListener, addressBucket: number): FastConnection {
    const id = this.transport.open(fd);
    this.now = Date.now();
    const connection = new FastConnection(id, listener, this, addressBucket);
    this.#connections[id] = connection;
    this.#open.add(connection);
    if (this.#sweep === undefined) {
      this.#sweep = setInterval(() => this.#sweepAll(), this.#sweepMs);
      this.#sweep.unref();
    }
    return connection;
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
    this.#hooks.closed(connection);
    if (this.#open.size === 0) this.#onEmpty?.();
  }

  get size(): number {
    return this.#open.size;
  }

  /** engine.close(): idle connections end now, busy ones after their response in progress. */
  drain(): void {
    this.draining = true;
    this.now = Date.now();
    for (const connection of [...this.#open]) connection.drain();
    this.transport.flush();
  }

  /** Resolves when no connection is left, or after `timeoutMs`; returns how many were destroyed then. */
  async closeAll(timeoutMs: number): Promise<number> {
    if (this.#open.size > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        this.#onEmpty = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    const destroyed = this.#open.size;
    for (const connection of [...this.#open]) connection.destroy();
    clearInterval(this.#sweep);
    this.transport.stop();
    return destroyed;
  }

  #sweepAll(): void {
    this.now = Date.now();
    for (const connection of this.#open) connection.sweep(this.now);
    this.transport.flush();
  }
}
