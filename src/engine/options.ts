import { isIP } from 'node:net';
import os from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ResourceLimits } from 'node:worker_threads';
import { InvalidOptionError } from '../errors.js';
import { nativeAvailable } from '../native/binding.js';
import type { Http2Settings, HttpServerSettings, OffloadSettings, TlsSettings } from '../protocol.js';
import { checkBoolean, checkInteger, checkIpLiteral } from '../validate.js';
import { type Http2Tuning, resolveHttp2Settings } from './http2-options.js';
import {
  type ProxyProtocolOptions,
  type ResolvedProxyProtocol,
  resolveProxyProtocol,
} from './proxy-options.js';
import { resolveTlsSettings, type SecureContextOptions, type TlsProtocolOptions } from './tls-options.js';

/**
 * How the coordinator picks a shard for each accepted connection.
 * - `least-connections` (default): the shard with the fewest open connections (handed off and not closed).
 * - `round-robin`: each shard in turn.
 * - `hash`: by client IP address, so one client always lands on the same shard (affinity).
 * - `kernel`: no coordinator hop: every shard listens on its own SO_REUSEPORT socket and the kernel spreads
 *   connections by their 4-tuple.
 *
 * @example
 * ```ts
 * import { createEngine } from 'sockshard';
 * const engine = createEngine({ shards: 4 });
 * engine.tcp({ port: 6379, handler: './cache.js', balance: 'hash' }); // one client address, one shard
 * ```
 */
export type BalanceStrategy = 'least-connections' | 'round-robin' | 'hash' | 'kernel';

export const BALANCE_STRATEGIES: readonly BalanceStrategy[] = [
  'least-connections',
  'round-robin',
  'hash',
  'kernel',
];

/**
 * What `createEngine(options)` takes; every field is optional.
 *
 * @example
 * ```ts
 * import { createEngine } from 'sockshard';
 * const engine = createEngine({
 *   shards: 4,
 *   limits: { maxConnections: 10_000, maxConnectionsPerAddress: 100 },
 *   restart: { maxRestarts: 5, windowMs: 60_000 },
 *   metrics: { port: 9100 },
 *   handleSignals: true,
 * });
 * ```
 */
export interface EngineOptions {
  /** Shard worker threads. Default: `os.availableParallelism()`. */
  readonly shards?: number;
  /** Bytes in each shard's control ring (a handoff takes 24 until it is adopted). Default 64 KiB. */
  readonly controlRingBytes?: number;
  /**
   * How accepted TCP connections reach their shard. `native` (default): the addon accepts and the fd goes
   * through the shard's control ring. `transfer`: Node accepts and moves the socket with postMessage,
   * which needs Node 24 or later (start() fails elsewhere). `auto`: `transfer` where Node supports it, else
   * `native`. See the HTTP benchmark for how they compare.
   */
  readonly handoff?: 'native' | 'transfer' | 'auto';
  /** Bytes in each ring of the shard-to-shard mesh (one per ordered pair of shards). Default 64 KiB. */
  readonly meshRingBytes?: number;
  /**
   * Restarting shards that die (`process.exit` in a handler, running out of memory, a failure of the
   * shard's own code; a handler's uncaught throw does not end its shard). Defaults: 5 restarts per 60 s;
   * the first restart in a window is immediate, then the back-off starts at 100 ms and doubles up to 5 s.
   * A spare shard worker stands by (`spare`, default true) so that the replacement skips the thread start
   * and the imports. Past the budget, or at any death with `false`, the shard is given up: the others
   * serve on, and when none is left the engine fails (see the engine's `failed` event).
   */
  readonly restart?: false | RestartPolicy;
  /**
   * A piscina pool for `context.offload()`: `module`'s default export runs CPU-heavy work off the shards'
   * event loops. `threads` (default: os.availableParallelism()) is shared out among the shards, at
   * least one each; `timeoutMs` (default 0: none) bounds each task. `niceIncrement` (0-19, default 5; Linux)
   * runs the pool's threads that much nicer than the shards, so that the event loops get the CPU first
   * when both want it (piscina's option; it needs piscina's optional dependency `@napi-rs/nice`).
   */
  readonly offload?: {
    readonly module: HandlerModule;
    readonly threads?: number;
    readonly timeoutMs?: number;
    readonly niceIncrement?: number;
  };
  /**
   * An opt-in Prometheus endpoint (GET /metrics) served by the coordinator. Default: none. It also answers
   * the health check (GET /health, see `health`).
   */
  readonly metrics?: { readonly port: number; readonly host?: string };
  /**
   * A health check for a load balancer in front (see `engine.health()`): GET `path` (default `/health`)
   * answers 200 `ready`, or 503 `draining` (a close, reload or hand-over has started) or `down`, with JSON.
   * On its own `port`, or, without one, on the metrics port. `drainDelayMs` (default 0): how long a close
   * keeps accepting while the check already says draining, before it refuses anything; give the balancer
   * time to notice (its check interval times its fall count, and some margin).
   */
  readonly health?: {
    readonly port?: number;
    readonly host?: string;
    readonly path?: string;
    readonly drainDelayMs?: number;
  };
  /**
   * Process hand-over: the engine serves a Unix socket at `path`. A new process of the application,
   * started with the same option, connects there at `start()`, takes over every listening socket (TCP,
   * UDP, the metrics and health ports, and this Unix socket) with SCM_RIGHTS, starts serving on them, and
   * only then tells this one, which drains and closes like `close()`. The kernel never refuses a connection:
   * the sockets stay open throughout. Without a running predecessor at `path`, `start()` binds as usual.
   * `timeoutMs` (default 10000) bounds the exchange, not the successor's start.
   */
  readonly handover?: { readonly path: string; readonly timeoutMs?: number };
  /**
   * Serve on the sockets systemd passes (socket activation: LISTEN_FDS and LISTEN_PID, names from
   * LISTEN_FDNAMES): a listener takes the inherited socket on its port (or named by its `fdName`) instead
   * of binding one. Default true; it does nothing unless LISTEN_PID is this process.
   */
  readonly socketActivation?: boolean;
  /**
   * Close gracefully on SIGTERM and SIGINT (the engine's close({ timeoutMs: closeTimeoutMs })). Default
   * false: signals are the embedding application's business unless it opts in.
   */
  readonly handleSignals?: boolean;
  /** The drain timeout used by handleSignals. Default 5000 ms. */
  readonly closeTimeoutMs?: number;
  /** Caps on open TCP/HTTP connections; a connection over a cap is closed at once and counted. */
  readonly limits?: ConnectionLimits;
  /** TLS session tickets, shared by every shard so that a client resumes on any of them. */
  readonly sessionTickets?: SessionTicketOptions;
  /** Memory limits of each shard's worker (`worker_threads` resourceLimits): a shard over them dies and restarts. */
  readonly resourceLimits?: ResourceLimits;
}

/**
 * Caps on open TCP/HTTP connections; 0 or absent means no cap.
 *
 * @example
 * ```ts
 * import { createEngine } from 'sockshard';
 * const engine = createEngine({
 *   limits: { maxConnections: 10_000, maxConnectionsPerShard: 3_000, maxConnectionsPerAddress: 50 },
 * });
 * engine.http({ port: 8080, handler: './app.js' });
 * await engine.start();
 * console.log(engine.stats().listeners[0]?.refusedPerAddress);
 * ```
 */
export interface ConnectionLimits {
  /** Open connections over all shards. 0 or absent: no cap. */
  readonly maxConnections?: number;
  /** Open connections per shard; a full shard is skipped by the balancer. */
  readonly maxConnectionsPerShard?: number;
  /**
   * Open connections per client IP address (counted in 65,536 hash buckets: addresses that share a bucket
   * share the cap). Not applied to `balance: 'kernel'` listeners, which the coordinator does not see.
   */
  readonly maxConnectionsPerAddress?: number;
}

/**
 * How shards that die are restarted: at once the first time in a window, then after a back-off that doubles
 * from `backoffMs` up to `maxBackoffMs`, at most `maxRestarts` times per `windowMs` (defaults 5 per 60 s,
 * 100 ms, 5 s); past that the shard stays down and the engine reports ShardRestartBudgetError.
 *
 * @example
 * ```ts
 * import { createEngine } from 'sockshard';
 * const engine = createEngine({
 *   restart: { maxRestarts: 10, windowMs: 10_000, backoffMs: 50, spare: false },
 * });
 * ```
 */
export interface RestartPolicy {
  readonly maxRestarts?: number;
  readonly windowMs?: number;
  readonly backoffMs?: number;
  readonly maxBackoffMs?: number;
  /**
   * Keep one spare shard worker started, its handler modules imported (once more than there are shards:
   * mind top-level side effects), to become the next shard that dies. Default true.
   */
  readonly spare?: boolean;
}

/**
 * A handler module: a `file:` URL, or a path (relative paths resolve against the current directory).
 *
 * @example
 * ```ts
 * import { createEngine } from 'sockshard';
 * const engine = createEngine();
 * engine.tcp({ port: 7000, handler: new URL('./echo.js', import.meta.url) }); // next to this file
 * engine.tcp({ port: 7001, handler: 'dist/handlers/echo.js' }); // against process.cwd()
 * ```
 */
export type HandlerModule = URL | string;

/**
 * What `engine.tcp(options)` takes.
 *
 * @example
 * ```ts
 * import { createEngine } from 'sockshard';
 * const engine = createEngine();
 * engine.tcp({ host: '::', port: 7000, handler: './echo.js', balance: 'round-robin', idleTimeoutMs: 30e3 });
 * ```
 */
export interface TcpOptions {
  /** An IP address literal to listen on. Default `127.0.0.1`; `::` is dual-stack, `::1` IPv6 loopback. */
  readonly host?: string;
  /** 0 picks a free port; read it back from `engine.addresses()` after `start()`. */
  readonly port: number;
  readonly handler: HandlerModule;
  /** Default `least-connections`. */
  readonly balance?: BalanceStrategy;
  /** listen(2) backlog. Default 511. */
  readonly backlog?: number;
  /** Destroy a connection that has sent and received nothing for this long (ms). Default 0: never. */
  readonly idleTimeoutMs?: number;
  /**
   * The listener is behind load balancers that send a PROXY protocol header (v1 or v2): see
   * ProxyProtocolOptions. Needs the coordinator to accept (not `balance: 'kernel'`, not `handoff: 'transfer'`).
   */
  readonly proxyProtocol?: ProxyProtocolOptions;
  /** Serve on the systemd socket of this FileDescriptorName= (socket activation), whatever its port. */
  readonly fdName?: string;
}

/**
 * What `engine.http(options)` takes: a TCP listener's options and node:http's server settings
 * (`keepAliveTimeout`, `headersTimeout`, `requestTimeout`, `maxHeaderSize`, `maxRequestsPerSocket`,
 * `connectionsCheckingInterval`).
 *
 * @example
 * ```ts
 * import { createEngine } from 'sockshard';
 * const engine = createEngine();
 * engine.http({ port: 8080, handler: './app.js', keepAliveTimeout: 5_000, headersTimeout: 10_000 });
 * ```
 */
export interface HttpOptions extends TcpOptions, HttpServerSettings {}

/** `engine.tls()`: a TCP listener whose handler gets each connection after its TLS handshake. */
export interface TlsListenerOptions extends TcpOptions, SecureContextOptions, TlsProtocolOptions {
  /** ALPN protocols offered, in order of preference (`socket.alpnProtocol` tells the one agreed). */
  readonly alpnProtocols?: readonly string[];
}

/** `engine.https()`: engine.http() over TLS. */
export interface HttpsOptions extends HttpOptions, SecureContextOptions, TlsProtocolOptions {}

/**
 * `engine.http2()`: node:http2 over TLS with ALPN (key and cert required), or, with `cleartext`, h2c by
 * prior knowledge.
 */
export interface Http2Options
  extends TcpOptions,
    Partial<SecureContextOptions>,
    TlsProtocolOptions,
    Http2Tuning {
  /** HTTP/2 without TLS (h2c, prior knowledge). Default false. */
  readonly cleartext?: boolean;
}

/** The kinds of connection listener. */
export type StreamKind = 'tcp' | 'http' | 'tls' | 'https' | 'http2';

/** Every kind's options, as `resolveListener` takes them. */
export type StreamOptions = TcpOptions | HttpOptions | TlsListenerOptions | HttpsOptions | Http2Options;

/** The session-ticket keys that every TLS listener's shards share (see `TicketKeyRing`). */
export interface SessionTicketOptions {
  /**
   * How often new keys are made; tickets of the previous keys still resume for one more period. Default
   * 3600000 (an hour). `engine.rotateTicketKeys()` rotates at once.
   */
  readonly rotationMs?: number;
}

export interface ResolvedEngineOptions {
  readonly shards: number;
  readonly controlRingBytes: number;
  readonly meshRingBytes: number;
  readonly handoff: 'native' | 'transfer' | 'auto';
  readonly restart: false | Required<RestartPolicy>;
  readonly resourceLimits?: ResourceLimits;
  readonly limits: Required<ConnectionLimits>;
  readonly metrics?: { readonly port: number; readonly host: string };
  readonly health?: {
    /** Undefined: served on the metrics port. */
    readonly port?: number;
    readonly host: string;
    readonly path: string;
    readonly drainDelayMs: number;
  };
  readonly handover?: { readonly path: string; readonly timeoutMs: number };
  readonly socketActivation: boolean;
  readonly handleSignals: boolean;
  readonly closeTimeoutMs: number;
  readonly offload?: OffloadSettings;
  readonly sessionTickets: Required<SessionTicketOptions>;
}

/**
 * What `engine.udp(options)` takes.
 *
 * @example
 * ```ts
 * import { createEngine } from 'sockshard';
 * const engine = createEngine({ shards: 2 });
 * // 5300 and 5302 on shard 0, 5301 and 5303 on shard 1:
 * engine.udp({ ports: { from: 5300, to: 5303 }, handler: './dns.js', io: 'batched' });
 * // on every shard, the kernel spreads the flows:
 * engine.udp({ ports: [5353], handler: './mdns.js', reusePort: true });
 * ```
 */
export interface UdpOptions {
  /** An IP address literal. Default `127.0.0.1`; an IPv6 host serves IPv6 (`::` dual-stack unless ipv6Only). */
  readonly host?: string;
  /** The ports: a list, or an inclusive range. 0 in a list lets the kernel pick (read it from stats). */
  readonly ports: readonly number[] | { readonly from: number; readonly to: number };
  readonly handler: HandlerModule;
  /**
   * Every shard binds every port with SO_REUSEPORT and the kernel spreads flows by 4-tuple (for hot
   * ports). Default false: each port belongs to one shard.
   */
  readonly reusePort?: boolean;
  /** The owning shard of a port when `reusePort` is off. Default `port % shards`. */
  readonly shardFor?: (port: number, shards: number) => number;
  /** Datagrams larger than this are dropped and counted. Default 65507 (the IPv4 UDP maximum). */
  readonly maxDatagram?: number;
  /** SO_RCVBUF / SO_SNDBUF in bytes (the kernel doubles them and caps them at net.core.*mem_max). */
  readonly recvBufferSize?: number;
  readonly sendBufferSize?: number;
  /** For an IPv6 host: refuse IPv4 peers. Default false. */
  readonly ipv6Only?: boolean;
  /**
   * `dgram` (default): each shard serves its sockets with node:dgram. `batched`: the native addon receives
   * batches with recvmmsg straight into shared memory and sends replies with one sendmmsg per batch (about
   * half the CPU per datagram). `stats().udp[i].io` says which path a port runs.
   */
  readonly io?: 'dgram' | 'batched';
}

export interface ResolvedUdpListener {
  readonly id: number;
  readonly kind: 'udp';
  readonly host: string;
  readonly family: 4 | 6;
  readonly ports: readonly number[];
  readonly handler: string;
  readonly reusePort: boolean;
  readonly shardFor: (port: number, shards: number) => number;
  readonly maxDatagram: number;
  readonly recvBufferSize?: number;
  readonly sendBufferSize?: number;
  readonly ipv6Only: boolean;
  readonly io: 'dgram' | 'batched';
}

const MAX_UDP_PAYLOAD = 65_507;
const MAX_UDP_PORTS = 4_096;

export interface ResolvedListener {
  readonly id: number;
  readonly kind: StreamKind;
  readonly host: string;
  readonly port: number;
  readonly fdName?: string;
  readonly handler: string;
  readonly balance: BalanceStrategy;
  readonly backlog: number;
  readonly idleTimeoutMs: number;
  readonly http?: HttpServerSettings;
  /** tls, https, and http2 unless cleartext. */
  readonly tls?: TlsSettings;
  /** The options the credentials came from, read again on SIGHUP (paths are re-read). */
  readonly secureContext?: SecureContextOptions;
  readonly http2?: Http2Settings;
  readonly proxyProtocol?: ResolvedProxyProtocol;
}

export function resolveEngineOptions(options: EngineOptions = {}): ResolvedEngineOptions {
  if (typeof options !== 'object' || options === null)
    throw new InvalidOptionError('options', 'must be an object');
  const controlRingBytes = powerOfTwo('controlRingBytes', options.controlRingBytes ?? 1 << 16);
  const shards = checkInteger('shards', options.shards ?? os.availableParallelism(), 1, 256);
  return {
    shards,
    controlRingBytes,
    meshRingBytes: powerOfTwo('meshRingBytes', options.meshRingBytes ?? 1 << 16),
    handoff: oneOf('handoff', options.handoff ?? 'native', ['native', 'transfer', 'auto'] as const),
    restart: restartPolicy(options.restart),
    handleSignals: checkBoolean('handleSignals', options.handleSignals ?? false),
    ...(options.offload === undefined ? {} : { offload: offloadSettings(options.offload, shards) }),
    closeTimeoutMs: checkInteger('closeTimeoutMs', options.closeTimeoutMs ?? 5_000, 0, 2 ** 31 - 1),
    ...(options.metrics === undefined
      ? {}
      : {
          metrics: {
            port: checkInteger('metrics.port', options.metrics.port, 0, 65_535),
            // Bound by the native addon (as every socket the coordinator serves on): no zone id.
            host: checkIpLiteral('metrics.host', options.metrics.host ?? '127.0.0.1', false),
          },
        }),
    sessionTickets: {
      rotationMs: checkInteger(
        'sessionTickets.rotationMs',
        options.sessionTickets?.rotationMs ?? 3_600_000,
        1_000,
        2 ** 31 - 1,
      ),
    },
    ...(options.health === undefined ? {} : { health: healthOptions(options.health, options.metrics) }),
    ...(options.handover === undefined ? {} : { handover: handoverOptions(options.handover) }),
    socketActivation: checkBoolean('socketActivation', options.socketActivation ?? true),
    limits: {
      maxConnections: checkInteger(
        'limits.maxConnections',
        options.limits?.maxConnections ?? 0,
        0,
        2 ** 31 - 1,
      ),
      maxConnectionsPerShard: checkInteger(
        'limits.maxConnectionsPerShard',
        options.limits?.maxConnectionsPerShard ?? 0,
        0,
        2 ** 31 - 1,
      ),
      maxConnectionsPerAddress: checkInteger(
        'limits.maxConnectionsPerAddress',
        options.limits?.maxConnectionsPerAddress ?? 0,
        0,
        2 ** 31 - 1,
      ),
    },
    ...(options.resourceLimits === undefined ? {} : { resourceLimits: options.resourceLimits }),
  };
}

function healthOptions(
  health: NonNullable<EngineOptions['health']>,
  metrics: EngineOptions['metrics'],
): NonNullable<ResolvedEngineOptions['health']> {
  if (typeof health !== 'object' || health === null)
    throw new InvalidOptionError('health', 'must be { port, host, path, drainDelayMs }');
  if (health.port === undefined && metrics === undefined) {
    throw new InvalidOptionError('health.port', 'give a port, or a metrics port to serve the health path on');
  }
  const path = health.path ?? '/health';
  if (typeof path !== 'string' || !path.startsWith('/') || path === '/metrics')
    throw new InvalidOptionError('health.path', `must be a path other than /metrics, got ${String(path)}`);
  return {
    ...(health.port === undefined ? {} : { port: checkInteger('health.port', health.port, 0, 65_535) }),
    host: checkIpLiteral('health.host', health.host ?? metrics?.host ?? '127.0.0.1', false),
    path,
    drainDelayMs: checkInteger('health.drainDelayMs', health.drainDelayMs ?? 0, 0, 2 ** 31 - 1),
  };
}

/** sun_path holds 108 bytes, the terminating NUL included. */
const MAX_UNIX_PATH_BYTES = 107;

function handoverOptions(
  handover: NonNullable<EngineOptions['handover']>,
): NonNullable<ResolvedEngineOptions['handover']> {
  if (typeof handover !== 'object' || handover === null)
    throw new InvalidOptionError('handover', 'must be { path, timeoutMs }');
  const { path } = handover;
  if (typeof path !== 'string' || path === '' || Buffer.byteLength(path) > MAX_UNIX_PATH_BYTES) {
    throw new InvalidOptionError(
      'handover.path',
      `must be a Unix socket path of 1 to ${MAX_UNIX_PATH_BYTES} bytes, got ${JSON.stringify(path)}`,
    );
  }
  return {
    path: resolve(path),
    timeoutMs: checkInteger('handover.timeoutMs', handover.timeoutMs ?? 10_000, 1, 2 ** 31 - 1),
  };
}

function offloadSettings(offload: NonNullable<EngineOptions['offload']>, shards: number): OffloadSettings {
  if (typeof offload !== 'object' || offload === null)
    throw new InvalidOptionError('offload', 'must be { module }');
  const threads = checkInteger('offload.threads', offload.threads ?? os.availableParallelism(), 1, 1_024);
  return {
    module: handlerUrl('offload.module', offload.module),
    threadsPerShard: Math.max(1, Math.round(threads / shards)),
    timeoutMs: checkInteger('offload.timeoutMs', offload.timeoutMs ?? 0, 0, 2 ** 31 - 1),
    niceIncrement: checkInteger('offload.niceIncrement', offload.niceIncrement ?? 5, 0, 19),
  };
}

function restartPolicy(policy: EngineOptions['restart']): false | Required<RestartPolicy> {
  if (policy === false) return false;
  if (policy !== undefined && (typeof policy !== 'object' || policy === null)) {
    throw new InvalidOptionError(
      'restart',
      'must be false or { maxRestarts, windowMs, backoffMs, maxBackoffMs, spare }',
    );
  }
  return {
    maxRestarts: checkInteger('restart.maxRestarts', policy?.maxRestarts ?? 5, 0, 1_000_000),
    windowMs: checkInteger('restart.windowMs', policy?.windowMs ?? 60_000, 1, 2 ** 31 - 1),
    backoffMs: checkInteger('restart.backoffMs', policy?.backoffMs ?? 100, 0, 2 ** 31 - 1),
    maxBackoffMs: checkInteger('restart.maxBackoffMs', policy?.maxBackoffMs ?? 5_000, 0, 2 ** 31 - 1),
    spare: checkBoolean('restart.spare', policy?.spare ?? true),
  };
}

function oneOf<T extends string>(option: string, value: unknown, choices: readonly T[]): T {
  if (!choices.includes(value as T)) {
    throw new InvalidOptionError(option, `must be one of ${choices.join(', ')}, got ${String(value)}`);
  }
  return value as T;
}

function powerOfTwo(option: string, value: number): number {
  checkInteger(option, value, 1024, 1 << 26);
  if ((value & (value - 1)) !== 0)
    throw new InvalidOptionError(option, `must be a power of two, got ${value}`);
  return value;
}

/** A handler module (URL or path) as a file: URL string; `option` names it in the error if it is neither. */
export function handlerUrl(option: string, value: unknown): string {
  if (value instanceof URL) {
    if (value.protocol !== 'file:')
      throw new InvalidOptionError(option, `must be a file: URL, got ${value.href}`);
    return value.href;
  }
  if (typeof value !== 'string' || value === '')
    throw new InvalidOptionError(option, 'must be a URL or a path');
  if (value.startsWith('file:')) return new URL(value).href;
  return pathToFileURL(isAbsolute(value) ? value : resolve(value)).href;
}

const HTTP_SETTINGS = [
  'keepAliveTimeout',
  'headersTimeout',
  'requestTimeout',
  'maxHeaderSize',
  'maxRequestsPerSocket',
  'connectionsCheckingInterval',
] as const;

/** A stream listener's options; `rotationMs` (the ticket-key period) sets TLS's default ticket lifetime. */
export function resolveListener(
  id: number,
  kind: StreamKind,
  options: StreamOptions,
  rotationMs = 3_600_000,
): ResolvedListener {
  const prefix = `${kind}.`;
  if (typeof options !== 'object' || options === null)
    throw new InvalidOptionError(kind, 'options must be an object');
  const host = checkIpLiteral(`${prefix}host`, options.host ?? '127.0.0.1');
  const balance = options.balance ?? 'least-connections';
  if (!BALANCE_STRATEGIES.includes(balance)) {
    throw new InvalidOptionError(
      `${prefix}balance`,
      `must be one of ${BALANCE_STRATEGIES.join(', ')}, got ${String(balance)}`,
    );
  }
  let http: HttpServerSettings | undefined;
  if (kind === 'http' || kind === 'https') {
    const settings: Record<string, number> = {};
    for (const key of HTTP_SETTINGS) {
      const value = (options as HttpOptions)[key];
      if (value !== undefined) settings[key] = checkInteger(`${prefix}${key}`, value, 0, 2 ** 31 - 1);
    }
    const api = (options as HttpOptions).api ?? 'node';
    if (api !== 'node' && api !== 'fast')
      throw new InvalidOptionError(`${prefix}api`, `must be 'node' or 'fast', got ${String(api)}`);
    http = api === 'fast' ? { ...settings, api } : settings;
  }
  return {
    id,
    kind,
    host,
    port: checkInteger(`${prefix}port`, options.port, 0, 65_535),
    handler: handlerUrl(`${prefix}handler`, options.handler),
    balance,
    backlog: checkInteger(`${prefix}backlog`, options.backlog ?? 511, 1, 65_535),
    idleTimeoutMs: checkInteger(`${prefix}idleTimeoutMs`, options.idleTimeoutMs ?? 0, 0, 2 ** 31 - 1),
    ...(options.fdName === undefined ? {} : { fdName: fdName(`${prefix}fdName`, options.fdName) }),
    ...(http === undefined ? {} : { http }),
    ...secureListener(id, kind, options, rotationMs),
    ...proxied(prefix, balance, options.proxyProtocol),
  };
}

/** The TLS and HTTP/2 settings of a tls, https or http2 listener (none for tcp, http). */
function secureListener(
  id: number,
  kind: StreamKind,
  options: StreamOptions,
  rotationMs: number,
): Pick<ResolvedListener, 'tls' | 'secureContext' | 'http2'> {
  if (kind === 'tcp' || kind === 'http') return {};
  const cleartext =
    kind === 'http2' && checkBoolean('http2.cleartext', (options as Http2Options).cleartext ?? false);
  const secure = options as SecureContextOptions & TlsProtocolOptions;
  const tls = cleartext ? undefined : resolveTlsSettings(kind, id, secure, rotationMs);
  return {
    ...(tls === undefined ? {} : { tls, secureContext: secure }),
    ...(kind === 'http2' ? { http2: resolveHttp2Settings(kind, options as Http2Options, !cleartext) } : {}),
  };
}

function proxied(
  prefix: string,
  balance: BalanceStrategy,
  options: ProxyProtocolOptions | undefined,
): Pick<ResolvedListener, 'proxyProtocol'> {
  if (options === undefined) return {};
  if (balance === 'kernel') {
    throw new InvalidOptionError(
      `${prefix}proxyProtocol`,
      "needs the coordinator to read the header before the handoff: use any balance but 'kernel'",
    );
  }
  return { proxyProtocol: resolveProxyProtocol(`${prefix}proxyProtocol`, options) };
}

/** systemd's FileDescriptorName=: up to 255 printable ASCII characters, no colon (it separates them). */
function fdName(option: string, name: unknown): string {
  if (typeof name !== 'string' || !/^[\x21-\x39\x3b-\x7e]{1,255}$/.test(name))
    throw new InvalidOptionError(option, `must be a systemd FileDescriptorName, got ${JSON.stringify(name)}`);
  return name;
}

function udpPorts(value: UdpOptions['ports']): number[] {
  let ports: number[];
  if (Array.isArray(value)) {
    ports = value.map((port, i) => checkInteger(`udp.ports[${i}]`, port, 0, 65_535));
  } else if (typeof value === 'object' && value !== null && 'from' in value) {
    const range = value as { from: number; to: number };
    const from = checkInteger('udp.ports.from', range.from, 1, 65_535);
    const to = checkInteger('udp.ports.to', range.to, from, 65_535);
    ports = Array.from({ length: to - from + 1 }, (_, i) => from + i);
  } else {
    throw new InvalidOptionError('udp.ports', 'must be a list of ports or { from, to }');
  }
  if (ports.length === 0 || ports.length > MAX_UDP_PORTS) {
    throw new InvalidOptionError('udp.ports', `must name 1 to ${MAX_UDP_PORTS} ports, got ${ports.length}`);
  }
  const fixed = ports.filter((port) => port !== 0);
  if (new Set(fixed).size !== fixed.length) throw new InvalidOptionError('udp.ports', 'lists a port twice');
  return ports;
}

export function resolveUdpListener(id: number, options: UdpOptions): ResolvedUdpListener {
  if (typeof options !== 'object' || options === null)
    throw new InvalidOptionError('udp', 'options must be an object');
  const host = checkIpLiteral('udp.host', options.host ?? '127.0.0.1');
  const shardFor = options.shardFor ?? ((port: number, shards: number) => port % shards);
  if (typeof shardFor !== 'function')
    throw new InvalidOptionError('udp.shardFor', 'must be a function (port, shards) => shard');
  const reusePort = checkBoolean('udp.reusePort', options.reusePort ?? false);
  const optionalSize = (key: 'recvBufferSize' | 'sendBufferSize') =>
    options[key] === undefined ? {} : { [key]: checkInteger(`udp.${key}`, options[key], 1, 2 ** 30) };
  return {
    id,
    kind: 'udp',
    host,
    family: isIP(host) === 6 ? 6 : 4,
    ports: udpPorts(options.ports),
    handler: handlerUrl('udp.handler', options.handler),
    reusePort,
    shardFor,
    maxDatagram: checkInteger('udp.maxDatagram', options.maxDatagram ?? MAX_UDP_PAYLOAD, 1, MAX_UDP_PAYLOAD),
    ...optionalSize('recvBufferSize'),
    ...optionalSize('sendBufferSize'),
    ipv6Only: options.ipv6Only ?? false,
    io: udpIo(options.io),
  };
}

function udpIo(io: UdpOptions['io']): 'dgram' | 'batched' {
  if (io === undefined || io === 'dgram') return 'dgram';
  if (io !== 'batched')
    throw new InvalidOptionError('udp.io', `must be 'dgram' or 'batched', got ${String(io)}`);
  // The batched path needs the native addon; without it, fall back (stats say which path runs).
  return nativeAvailable() ? 'batched' : 'dgram';
}

/**
 * What `engine.icmp(options)` takes; every field is optional.
 *
 * @example
 * ```ts
 * import { createEngine } from 'sockshard';
 * const engine = createEngine();
 * engine.icmp({ handler: new URL('./unreachables.js', import.meta.url), ratePerSecond: 10_000 });
 * ```
 */
export interface IcmpOptions {
  /** A handler module for the ICMP packets routed to each shard; optional: ctx.ping() works without one. */
  readonly handler?: HandlerModule;
  /** Echo identifiers per shard (each shard pings with its own range). Default: 65536 / shards, at most 4096. */
  readonly identifierSpan?: number;
  /** Echo requests per second over all shards (fping's -r style rate control). Default 100,000. */
  readonly ratePerSecond?: number;
  /** SO_RCVBUF of the raw socket in bytes. Default 4 MiB (capped by net.core.rmem_max). */
  readonly receiveBufferSize?: number;
  /** Bytes in each shard's two ICMP rings. Default 256 KiB. */
  readonly ringBytes?: number;
}

export interface ResolvedIcmpListener {
  readonly id: number;
  readonly kind: 'icmp';
  readonly handler?: string;
  readonly identifierSpan: number;
  readonly ratePerSecond: number;
  readonly receiveBufferSize: number;
  readonly ringBytes: number;
}

export function resolveIcmpListener(
  id: number,
  shards: number,
  options: IcmpOptions = {},
): ResolvedIcmpListener {
  if (typeof options !== 'object' || options === null)
    throw new InvalidOptionError('icmp', 'options must be an object');
  const largestSpan = Math.floor(65_536 / shards);
  return {
    id,
    kind: 'icmp',
    ...(options.handler === undefined ? {} : { handler: handlerUrl('icmp.handler', options.handler) }),
    identifierSpan: checkInteger(
      'icmp.identifierSpan',
      options.identifierSpan ?? Math.min(4_096, largestSpan),
      1,
      largestSpan,
    ),
    ratePerSecond: checkInteger('icmp.ratePerSecond', options.ratePerSecond ?? 100_000, 1, 10_000_000),
    receiveBufferSize: checkInteger(
      'icmp.receiveBufferSize',
      options.receiveBufferSize ?? 4 << 20,
      4_096,
      2 ** 30,
    ),
    ringBytes: powerOfTwo('icmp.ringBytes', options.ringBytes ?? 1 << 18),
  };
}
