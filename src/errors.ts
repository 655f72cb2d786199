/**
 * Every error sockshard raises on purpose. Each has a stable `code` (match on it, not on the message) and
 * context fields (`shardId`, `port`, `fd`, ...) where they apply. Errors from a syscall carry the errno
 * name (`EADDRINUSE`) as `code` and the syscall as `syscall`.
 *
 * Some errors must also be built-in error types (a record larger than the ring is a `RangeError`, as the
 * ring contract promises), and JS has single inheritance, so membership in the family is a brand checked
 * by `SockshardError[Symbol.hasInstance]`: `err instanceof SockshardError` holds for all of them.
 */

const kBrand = Symbol.for('sockshard.error');

/** The context fields an error carries where they apply. */
export interface SockshardErrorContext {
  readonly shardId?: number;
  readonly port?: number;
  readonly fd?: number;
  readonly option?: string;
  readonly syscall?: string;
  readonly errno?: number;
  readonly cause?: unknown;
}

function brand(error: Error, code: string, context: SockshardErrorContext): void {
  Object.defineProperty(error, kBrand, { value: true });
  Object.assign(error, { code }, context);
}

/**
 * The base of every error sockshard raises on purpose: match on `code`, which is stable, and read the
 * context fields (`shardId`, `port`, `fd`, `option`, `syscall`, `errno`) that apply.
 *
 * @example
 * ```ts
 * import { createEngine, SockshardError } from 'sockshard';
 * const engine = createEngine();
 * engine.tcp({ port: 7000, handler: './echo.js' });
 * try {
 *   await engine.start();
 * } catch (error) {
 *   if (!(error instanceof SockshardError) || error.code !== 'EADDRINUSE') throw error;
 *   console.error(`port ${error.port} is taken`);
 * }
 * ```
 */
export class SockshardError extends Error {
  declare readonly code: string;
  declare readonly shardId?: number;
  declare readonly port?: number;
  declare readonly fd?: number;
  declare readonly option?: string;
  declare readonly syscall?: string;
  declare readonly errno?: number;

  constructor(code: string, message: string, context: SockshardErrorContext = {}) {
    super(message, context.cause === undefined ? undefined : { cause: context.cause });
    this.name = new.target.name;
    brand(this, code, context);
  }
}

// Subclasses inherit this static, so it keeps ordinary prototype checks for them and uses the brand only for
// `instanceof SockshardError` itself (which must also hold for the RangeError-based errors below).
Object.defineProperty(SockshardError, Symbol.hasInstance, {
  value: function hasInstance(this: unknown, value: unknown): boolean {
    if (this !== SockshardError) return Function.prototype[Symbol.hasInstance].call(this, value);
    return typeof value === 'object' && value !== null && kBrand in value;
  },
});

/**
 * A record or a request larger than a ring can ever hold.
 *
 * @example
 * ```ts
 * import { createRing, RingProducer, RingRecordTooLargeError } from 'sockshard/ring';
 * const producer = new RingProducer(createRing({ capacity: 1024 }));
 * try {
 *   producer.write(new Uint8Array(4096));
 * } catch (error) {
 *   if (error instanceof RingRecordTooLargeError) console.log(error.maxRecord); // the largest it takes
 * }
 * ```
 */
export class RingRecordTooLargeError extends RangeError {
  declare readonly code: 'ERR_RING_RECORD_TOO_LARGE';
  readonly length: number;
  readonly maxRecord: number;

  constructor(length: number, maxRecord: number) {
    super(`ring record of ${length} bytes exceeds this ring's maximum of ${maxRecord} bytes`);
    this.name = 'RingRecordTooLargeError';
    this.length = length;
    this.maxRecord = maxRecord;
    brand(this, 'ERR_RING_RECORD_TOO_LARGE', {});
  }
}

/**
 * A ring's size or a record's type or length out of range (a RangeError, as the ring contract promises).
 *
 * @example
 * ```ts
 * import { createRing, RingRangeError } from 'sockshard/ring';
 * try {
 *   createRing({ capacity: 1000 }); // not a power of two
 * } catch (error) {
 *   console.log(error instanceof RingRangeError && error instanceof RangeError); // true
 * }
 * ```
 */
export class RingRangeError extends RangeError {
  declare readonly code: 'ERR_RING_RANGE';

  constructor(message: string) {
    super(message);
    this.name = 'RingRangeError';
    brand(this, 'ERR_RING_RANGE', {});
  }
}

/**
 * `context.sendToShard()` to a shard the engine does not have.
 *
 * @example
 * ```ts
 * // in a handler: send only to shards that exist
 * import { defineTcpHandler } from 'sockshard';
 * export default defineTcpHandler({
 *   connection(socket, context) {
 *     const next = (context.shardId + 1) % context.shards; // never an UnknownShardError
 *     context.sendToShard(next, new TextEncoder().encode('hello'));
 *     socket.end();
 *   },
 * });
 * ```
 */
export class UnknownShardError extends RangeError {
  declare readonly code: 'ERR_UNKNOWN_SHARD';
  declare readonly shardId: number;
  readonly shards: number;

  constructor(shardId: number, shards: number) {
    super(`no shard ${String(shardId)}: shards are 0 to ${shards - 1}`);
    this.name = 'UnknownShardError';
    this.shards = shards;
    brand(this, 'ERR_UNKNOWN_SHARD', { shardId });
  }
}

/**
 * A `context.sendToShard()` message larger than the mesh ring can ever hold (see `meshRingBytes`).
 *
 * @example
 * ```ts
 * import { defineTcpHandler, ShardMessageTooLargeError } from 'sockshard';
 * export default defineTcpHandler({
 *   connection(socket, context) {
 *     socket.on('data', (data) => {
 *       try {
 *         context.sendToShard(0, data);
 *       } catch (error) {
 *         if (error instanceof ShardMessageTooLargeError) socket.end(`at most ${error.maxLength} bytes\n`);
 *         else throw error;
 *       }
 *     });
 *   },
 * });
 * ```
 */
export class ShardMessageTooLargeError extends RangeError {
  declare readonly code: 'ERR_SHARD_MESSAGE_TOO_LARGE';
  readonly length: number;
  readonly maxLength: number;

  constructor(length: number, maxLength: number) {
    super(`a message of ${length} bytes is larger than the ${maxLength} bytes the mesh ring allows`);
    this.name = 'ShardMessageTooLargeError';
    this.length = length;
    this.maxLength = maxLength;
    brand(this, 'ERR_SHARD_MESSAGE_TOO_LARGE', {});
  }
}

/**
 * A SharedArrayBuffer that is not a ring of this layout version, or is too small for what it claims.
 *
 * @example
 * ```ts
 * import { attachRing, RingLayoutError } from 'sockshard/ring';
 * try {
 *   attachRing(new SharedArrayBuffer(64)); // not a ring
 * } catch (error) {
 *   console.log(error instanceof RingLayoutError); // true
 * }
 * ```
 */
export class RingLayoutError extends SockshardError {
  constructor(message: string) {
    super('ERR_RING_LAYOUT', message);
  }
}

/**
 * An option that is missing, of the wrong type or out of range; `option` names it.
 *
 * @example
 * ```ts
 * import { createEngine, InvalidOptionError } from 'sockshard';
 * try {
 *   createEngine({ shards: 0 });
 * } catch (error) {
 *   if (error instanceof InvalidOptionError) console.error(error.option, error.message); // 'shards', ...
 * }
 * ```
 */
export class InvalidOptionError extends SockshardError {
  constructor(option: string, message: string) {
    super('ERR_INVALID_OPTION', `${option}: ${message}`, { option });
  }
}

/**
 * A TLS key, certificate, passphrase or CA that cannot be used: unreadable, not PEM/DER, encrypted with
 * another passphrase, a certificate that does not match its key. `option` names it (`https.key`,
 * `tls.sni["example.com"].cert`); `cause` is Node's or OpenSSL's error (its `code`, e.g.
 * `ERR_OSSL_BAD_DECRYPT`, says what OpenSSL saw).
 *
 * @example
 * ```ts
 * import { createEngine, TlsCredentialsError } from 'sockshard';
 * const engine = createEngine();
 * try {
 *   engine.https({ port: 8443, handler: './app.js', key: './key.pem', cert: './cert.pem' });
 * } catch (error) {
 *   if (error instanceof TlsCredentialsError) console.error(error.option, error.message); // 'https.key', ...
 * }
 * ```
 */
export class TlsCredentialsError extends SockshardError {
  declare readonly option: string;

  constructor(option: string, message: string, cause?: unknown) {
    super('ERR_TLS_CREDENTIALS', `${option}: ${message}`, { option, cause });
  }
}

/**
 * A ring used against its contract (for example `release()` with nothing peeked).
 *
 * @example
 * ```ts
 * import { createRing, RingConsumer, RingStateError } from 'sockshard/ring';
 * const consumer = new RingConsumer(createRing({ capacity: 1024 }));
 * try {
 *   consumer.release(); // nothing was peeked
 * } catch (error) {
 *   console.log(error instanceof RingStateError); // true
 * }
 * ```
 */
export class RingStateError extends SockshardError {
  constructor(message: string) {
    super('ERR_RING_STATE', message);
  }
}

/** Where a failed syscall was aimed; all optional. */
export interface SyscallErrorContext {
  readonly address?: string;
  readonly port?: number;
  readonly fd?: number;
  readonly shardId?: number;
}

/**
 * A syscall that failed: `code` is the errno name (`EADDRINUSE`), `errno` the negative number Node's own
 * system errors carry (`-98`), `syscall` the call (`bind`), plus `address`, `port` or `fd` where known.
 *
 * The native addon throws these itself, as plain `Error`s carrying the brand and these fields (so nothing
 * re-wraps them on the way out); `instanceof SyscallError` therefore checks the brand and the shape rather
 * than the prototype, and holds for those as well as for errors built here.
 *
 * @example
 * ```ts
 * import { createEngine, SyscallError } from 'sockshard';
 * const engine = createEngine();
 * engine.http({ port: 80, handler: './app.js' });
 * await engine.start().catch((error: unknown) => {
 *   if (!(error instanceof SyscallError) || error.code !== 'EACCES') throw error;
 *   console.error(`${error.syscall}: port ${error.port} needs privilege`);
 * });
 * ```
 */
export class SyscallError extends SockshardError {
  declare readonly syscall: string;
  declare readonly errno: number;
  declare readonly address?: string;

  /** `description` is the errno's text, e.g. `address already in use`. */
  constructor(
    syscall: string,
    errno: number,
    code: string,
    description: string,
    context: SyscallErrorContext = {},
  ) {
    super(code, `${syscall} ${code}: ${description}${where(context)}`, { ...context, syscall, errno });
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    // biome-ignore lint/complexity/noThisInStatic: `this` is the class on the right of instanceof; a subclass gets the prototype check.
    if (this !== SyscallError) return Function.prototype[Symbol.hasInstance].call(this, value);
    if (!(value instanceof SockshardError)) return false;
    return typeof value.syscall === 'string' && typeof value.errno === 'number';
  }
}

/** The same suffix the addon writes: ` 127.0.0.1:7000`, ` [::1]:7000` or ` (fd 12)`. */
function where(context: SyscallErrorContext): string {
  if (context.address !== undefined) {
    const host = context.address.includes(':') ? `[${context.address}]` : context.address;
    return ` ${host}:${context.port ?? 0}`;
  }
  return context.fd === undefined ? '' : ` (fd ${context.fd})`;
}

/**
 * The native addon is missing or failed to load (not built, built for another Node, or not Linux).
 *
 * @example
 * ```ts
 * import { createEngine, NativeAddonUnavailableError } from 'sockshard';
 * const engine = createEngine();
 * engine.tcp({ port: 7000, handler: './echo.js' });
 * await engine.start().catch((error: unknown) => {
 *   if (error instanceof NativeAddonUnavailableError) console.error(`rebuild the addon at ${error.path}`);
 *   throw error;
 * });
 * ```
 */
export class NativeAddonUnavailableError extends SockshardError {
  readonly path: string;

  constructor(path: string, cause: unknown) {
    super(
      'ERR_NATIVE_UNAVAILABLE',
      `sockshard's native addon could not be loaded from ${path}: it did not build, was built for another ` +
        'Node.js, or this is not Linux (the addon is Linux only). Rebuild it with `npm rebuild sockshard` ' +
        '(in a checkout of sockshard: `npm run install`); building needs python3, make and a C compiler.',
      { cause },
    );
    this.path = path;
  }
}

/**
 * A handler module that could not be imported, or whose default export does not fit its listener.
 *
 * @example
 * ```ts
 * import { createEngine, HandlerLoadError } from 'sockshard';
 * const engine = createEngine();
 * engine.tcp({ port: 7000, handler: './missing.js' });
 * await engine.start().catch((error: unknown) => {
 *   if (error instanceof HandlerLoadError) console.error(error.module, error.reason);
 * });
 * ```
 */
export class HandlerLoadError extends SockshardError {
  declare readonly module: string;
  /** What was wrong with the module, without the module's name. */
  declare readonly reason: string;

  constructor(module: string, reason: string, cause?: unknown, shardId?: number) {
    const where = shardId === undefined ? '' : ` (shard ${shardId})`;
    super('ERR_HANDLER_LOAD', `handler module ${module} ${reason}${where}`, {
      cause,
      ...(shardId === undefined ? {} : { shardId }),
    });
    Object.defineProperties(this, {
      module: { value: module, enumerable: true },
      reason: { value: reason, enumerable: true },
    });
  }
}

/**
 * An error as it crosses from a shard to the coordinator: structured clone keeps message and stack, not
 * class or own fields, so the fields that say which error it is travel by name (`serializeError`).
 *
 * @example
 * ```ts
 * // What HandlerError keeps of the handler's own error: its name, message, stack and code.
 * import { createEngine } from 'sockshard';
 * const engine = createEngine();
 * engine.on('handler-error', (error) => console.error(error.handlerCode, error.stack));
 * ```
 */
export interface SerializedError {
  readonly name: string;
  readonly message: string;
  readonly stack?: string;
  readonly code?: string;
  readonly errno?: number;
  readonly syscall?: string;
  readonly address?: string;
  readonly port?: number;
  readonly fd?: number;
  readonly module?: string;
  /** HandlerLoadError: what was wrong with the module (its message adds the module and the shard). */
  readonly reason?: string;
}

const SERIALIZED_FIELDS = ['code', 'errno', 'syscall', 'address', 'port', 'fd', 'module', 'reason'] as const;

/** Any thrown value as a `SerializedError` (a non-Error becomes its string). */
export function serializeError(error: unknown): SerializedError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  const fields = error as Error & Partial<SerializedError>;
  const out: Record<string, unknown> = { name: error.name, message: error.message, stack: error.stack };
  for (const key of SERIALIZED_FIELDS) {
    if (fields[key] !== undefined) out[key] = fields[key];
  }
  return out as unknown as SerializedError;
}

/**
 * A handler threw or rejected while serving a connection or a request. That connection was ended; the
 * shard serves on. `listenerId` is -1 for errors thrown later in a callback that no listener owns.
 *
 * @example
 * ```ts
 * import { createEngine } from 'sockshard';
 * const engine = createEngine();
 * engine.http({ port: 8080, handler: './app.js' });
 * engine.on('handler-error', (error) => {
 *   console.error(`listener ${error.listenerId} in shard ${error.shardId}: ${error.message}`);
 * });
 * await engine.start();
 * ```
 */
export class HandlerError extends SockshardError {
  declare readonly listenerId: number;
  /** The handler's own error code, if it had one. */
  declare readonly handlerCode?: string;

  constructor(remote: SerializedError, shardId: number, listenerId = -1) {
    super('ERR_HANDLER', `handler error in shard ${shardId}: ${remote.name}: ${remote.message}`, { shardId });
    Object.defineProperty(this, 'listenerId', { value: listenerId, enumerable: true });
    if (remote.code !== undefined)
      Object.defineProperty(this, 'handlerCode', { value: remote.code, enumerable: true });
    if (remote.stack !== undefined)
      this.stack = `${this.name}: ${this.message}\n--- in the shard ---\n${remote.stack}`;
  }
}

/**
 * A shard could not take over a connection or a UDP socket that the coordinator handed it: an engine fault,
 * not the handler's. The fd was closed; a lost connection is counted in the shard's `adoptFailed`.
 *
 * @example
 * ```ts
 * import { AdoptError, createEngine } from 'sockshard';
 * const engine = createEngine();
 * engine.on('error', (error) => {
 *   if (error instanceof AdoptError) console.error(`shard ${error.shardId}: ${error.reason}`);
 * });
 * ```
 */
export class AdoptError extends SockshardError {
  declare readonly listenerId: number;
  /** What went wrong, without the shard and the listener. */
  declare readonly reason: string;

  constructor(shardId: number, listenerId: number, reason: string, cause?: unknown) {
    super('ERR_ADOPT', `shard ${shardId} could not adopt a socket for listener ${listenerId}: ${reason}`, {
      shardId,
      ...(cause === undefined ? {} : { cause }),
    });
    Object.defineProperties(this, {
      listenerId: { value: listenerId, enumerable: true },
      reason: { value: reason, enumerable: true },
    });
  }
}

/**
 * A shard's control ring had no room for what the coordinator must hand it at start (a UDP socket for
 * each of its ports): raise `controlRingBytes`.
 *
 * @example
 * ```ts
 * import { createEngine } from 'sockshard';
 * // Many UDP ports on few shards: give each shard's control ring room for one record per port.
 * const engine = createEngine({ shards: 2, controlRingBytes: 1 << 20 });
 * engine.udp({ ports: { from: 20000, to: 24000 }, handler: './dns.js' });
 * await engine.start();
 * ```
 */
export class ControlRingFullError extends SockshardError {
  constructor(shardId: number, what: string) {
    super('ERR_CONTROL_RING_FULL', `shard ${shardId}: control ring full while handing over ${what}`, {
      shardId,
    });
  }
}

/**
 * A shard's worker ended when it was not asked to. `cause`, when there is one, is the error that ended it
 * (ERR_WORKER_OUT_OF_MEMORY, or a failure of the shard's own code); a handler's `process.exit()` has none.
 *
 * @example
 * ```ts
 * import { createEngine, ShardExitError } from 'sockshard';
 * const engine = createEngine();
 * engine.on('error', (error) => {
 *   if (error instanceof ShardExitError) console.error(`shard ${error.shardId} died (${error.exitCode})`);
 * });
 * ```
 */
export class ShardExitError extends SockshardError {
  declare readonly exitCode: number;

  constructor(shardId: number, exitCode: number, cause?: unknown) {
    super('ERR_SHARD_EXIT', `shard ${shardId} exited unexpectedly with code ${exitCode}`, {
      shardId,
      ...(cause === undefined ? {} : { cause }),
    });
    Object.defineProperty(this, 'exitCode', { value: exitCode, enumerable: true });
  }
}

/**
 * An engine method called in a state that does not allow it (listen after start, start twice, ...).
 *
 * @example
 * ```ts
 * import { createEngine, EngineStateError } from 'sockshard';
 * const engine = createEngine();
 * engine.tcp({ port: 0, handler: './echo.js' });
 * await engine.start();
 * try {
 *   engine.tcp({ port: 0, handler: './echo.js' });
 * } catch (error) {
 *   console.log(error instanceof EngineStateError); // true: listeners are added before start()
 * }
 * ```
 */
export class EngineStateError extends SockshardError {
  constructor(message: string) {
    super('ERR_ENGINE_STATE', message);
  }
}

/**
 * A process hand-over failed: the successor could not take the sockets over (the predecessor refused, went
 * away, sent something this version does not understand, or took longer than `handover.timeoutMs`), or,
 * on the predecessor's side, the successor went away before it served. The predecessor serves on.
 */
export class HandoverError extends SockshardError {
  declare readonly path: string;

  constructor(path: string, message: string, cause?: unknown) {
    super('ERR_HANDOVER', `process hand-over at ${path}: ${message}`, { cause });
    Object.defineProperty(this, 'path', { value: path, enumerable: true });
  }
}

/**
 * A rolling reload did not happen: a replacement shard could not load the new handler modules or set its
 * listeners up (`cause` says why, often a HandlerLoadError), or the engine closed meanwhile. It was rolled
 * back before any shard was replaced: the engine serves the code it served before.
 */
export class ReloadError extends SockshardError {
  declare readonly generation: number;

  constructor(generation: number, reason: string, cause?: unknown) {
    super('ERR_RELOAD', `reload ${generation} rolled back, the engine serves the previous code: ${reason}`, {
      cause,
    });
    Object.defineProperty(this, 'generation', { value: generation, enumerable: true });
  }
}

/**
 * A shard died more often than the restart budget allows: it stays down. While another shard serves, the
 * engine serves on without it; when it was the last, the engine fails (EngineFailedError).
 *
 * @example
 * ```ts
 * import { createEngine, ShardRestartBudgetError } from 'sockshard';
 * const engine = createEngine({ restart: { maxRestarts: 3, windowMs: 60_000 } });
 * engine.on('error', (error) => {
 *   if (error instanceof ShardRestartBudgetError) console.warn(`shard ${error.shardId} stays down (${engine.state})`);
 * });
 * ```
 */
export class ShardRestartBudgetError extends SockshardError {
  declare readonly maxRestarts: number;
  declare readonly windowMs: number;

  constructor(shardId: number, maxRestarts: number, windowMs: number) {
    super(
      'ERR_SHARD_RESTART_BUDGET',
      `shard ${shardId} died more than ${maxRestarts} times in ${windowMs} ms: not restarting it again`,
      { shardId },
    );
    Object.defineProperties(this, {
      maxRestarts: { value: maxRestarts, enumerable: true },
      windowMs: { value: windowMs, enumerable: true },
    });
  }
}

/**
 * Every shard died and none will be restarted (each past its restart budget, or with `restart: false`):
 * the engine released every port and closed. The engine's `failed` event carries it; with no listener
 * for that event, the engine ends the process with exit code 1 (so that systemd, Kubernetes or pm2 starts
 * it afresh). `cause` is the last shard's ShardRestartBudgetError, if there was a budget.
 */
export class EngineFailedError extends SockshardError {
  constructor(shards: number, cause?: SockshardError) {
    super(
      'ERR_ENGINE_FAILED',
      `every shard (${shards}) died and none will be restarted (${
        cause === undefined ? 'restart: false' : 'past its restart budget'
      }): the engine released its ports and closed`,
      cause === undefined ? {} : { cause },
    );
  }
}

/**
 * A raw ICMP socket could not be opened for lack of privilege: Linux gives `socket(AF_INET, SOCK_RAW,
 * IPPROTO_ICMP)` only to a process with CAP_NET_RAW. `cause` is the underlying error (code EPERM or EACCES).
 *
 * @example
 * ```ts
 * import { createEngine, IcmpPermissionError } from 'sockshard';
 * const engine = createEngine();
 * engine.icmp();
 * await engine.start().catch((error: unknown) => {
 *   if (error instanceof IcmpPermissionError) console.error(error.message); // says how to grant CAP_NET_RAW
 * });
 * ```
 */
export class IcmpPermissionError extends SockshardError {
  declare readonly errnoName: string;

  constructor(errnoName: string, cause: unknown) {
    super(
      'ERR_ICMP_PERMISSION',
      `opening a raw ICMP socket was refused (socket ${errnoName}): it needs the CAP_NET_RAW capability. ` +
        'Run as root, or grant it to Node.js once with `sudo setcap cap_net_raw+ep $(command -v node)`.',
      { syscall: 'socket', cause },
    );
    Object.defineProperty(this, 'errnoName', { value: errnoName, enumerable: true });
  }
}

/**
 * The raw-socket package cannot be used here: it is not installed or not built, or this is not the thread
 * that may load it (it is not context-aware, so only one thread per process can, and sockshard keeps it in
 * the coordinator, the main thread).
 *
 * @example
 * ```ts
 * import { defineHttpHandler, IcmpUnavailableError } from 'sockshard';
 * export default defineHttpHandler(async (request, response, context) => {
 *   const result = await context.ping('127.0.0.1').catch((error: unknown) => {
 *     if (error instanceof IcmpUnavailableError) return undefined; // the engine serves no ICMP
 *     throw error;
 *   });
 *   response.end(result === undefined ? 'no ping here\n' : `${result.received} replies\n`);
 * });
 * ```
 */
export class IcmpUnavailableError extends SockshardError {
  constructor(reason: string, cause?: unknown) {
    super('ERR_ICMP_UNAVAILABLE', `raw ICMP sockets are unavailable: ${reason}`, { cause });
  }
}

/** A send on, or a send still queued by, an ICMP socket that was closed. */
export class IcmpSocketClosedError extends SockshardError {
  constructor() {
    super('ERR_ICMP_CLOSED', 'the raw ICMP socket is closed');
  }
}

/**
 * A shard has no free echo identifier left for another ping to this target: every identifier of its range
 * is in use by a ping to the same address.
 *
 * @example
 * ```ts
 * import { defineHttpHandler, IcmpIdentifiersExhaustedError } from 'sockshard';
 * export default defineHttpHandler(async (request, response, context) => {
 *   try {
 *     const result = await context.ping('192.0.2.1', { count: 1 });
 *     response.end(`${result.received}\n`);
 *   } catch (error) {
 *     if (!(error instanceof IcmpIdentifiersExhaustedError)) throw error;
 *     response.writeHead(503).end(`too many pings to ${error.target} at once\n`);
 *   }
 * });
 * ```
 */
export class IcmpIdentifiersExhaustedError extends SockshardError {
  declare readonly target: string;

  constructor(target: string, start: number, end: number, shardId?: number) {
    super(
      'ERR_ICMP_IDENTIFIERS_EXHAUSTED',
      `every echo identifier from ${start} to ${end - 1} is in use by a ping to ${target}` +
        `${shardId === undefined ? '' : ` (shard ${shardId})`}; wait for one to finish`,
      shardId === undefined ? {} : { shardId },
    );
    Object.defineProperty(this, 'target', { value: target, enumerable: true });
  }
}

/**
 * Work handed to `context.offload()` failed in the pool; `cause` is its error.
 *
 * @example
 * ```ts
 * import { defineHttpHandler, OffloadError } from 'sockshard';
 * export default defineHttpHandler(async (request, response, context) => {
 *   try {
 *     response.end(String(await context.offload(40)));
 *   } catch (error) {
 *     if (!(error instanceof OffloadError)) throw error;
 *     response.writeHead(500).end(`the task failed: ${String(error.cause)}\n`);
 *   }
 * });
 * ```
 */
export class OffloadError extends SockshardError {
  constructor(cause: unknown) {
    super('ERR_OFFLOAD', `offloaded work failed: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
    });
  }
}

/**
 * Work handed to `context.offload()` did not finish in time; it was aborted.
 *
 * @example
 * ```ts
 * import { defineHttpHandler, OffloadTimeoutError } from 'sockshard';
 * export default defineHttpHandler(async (request, response, context) => {
 *   try {
 *     response.end(String(await context.offload(40, { timeoutMs: 100 })));
 *   } catch (error) {
 *     if (!(error instanceof OffloadTimeoutError)) throw error;
 *     response.writeHead(503).end(`not within ${error.timeoutMs} ms\n`);
 *   }
 * });
 * ```
 */
export class OffloadTimeoutError extends SockshardError {
  declare readonly timeoutMs: number;

  constructor(timeoutMs: number) {
    super('ERR_OFFLOAD_TIMEOUT', `offloaded work did not finish within ${timeoutMs} ms`);
    Object.defineProperty(this, 'timeoutMs', { value: timeoutMs, enumerable: true });
  }
}

/**
 * `context.offload()` on an engine created without the `offload` option.
 *
 * @example
 * ```ts
 * import { createEngine } from 'sockshard';
 * // context.offload() needs a pool: give the engine its task module.
 * const engine = createEngine({ offload: { module: new URL('./fib.js', import.meta.url) } });
 * ```
 */
export class OffloadUnavailableError extends SockshardError {
  constructor() {
    super(
      'ERR_OFFLOAD_UNAVAILABLE',
      'this engine has no offload pool: createEngine({ offload: { module } })',
    );
  }
}

/**
 * Rebuilds an error that crossed from a shard as the typed error it stands for: a handler module that could
 * not load, a failed syscall (`instanceof SyscallError`, `name` 'SyscallError'), a socket the shard could not
 * adopt, or else a handler's own error (its setup hook threw, say).
 */
export function reviveError(
  error: SerializedError,
  shardId: number,
  context: { readonly listenerId?: number; readonly port?: number } = {},
): SockshardError {
  if (error.code === 'ERR_HANDLER_LOAD' && error.module !== undefined) {
    return new HandlerLoadError(error.module, error.reason ?? error.message, undefined, shardId);
  }
  if (error.code === 'ERR_ADOPT') {
    return new AdoptError(shardId, context.listenerId ?? -1, error.reason ?? error.message);
  }
  if (error.code !== undefined && error.syscall !== undefined && error.errno !== undefined) {
    const port = context.port ?? error.port;
    const revived = new SyscallError(error.syscall, error.errno, error.code, '', {
      shardId,
      ...(error.address === undefined ? {} : { address: error.address }),
      ...(port === undefined ? {} : { port }),
      ...(error.fd === undefined ? {} : { fd: error.fd }),
    });
    // The shard's own text (the errno's description, where it was aimed), and its stack.
    revived.message = error.message;
    revived.stack = `${revived.name}: ${error.message}\n--- in the shard ---\n${error.stack ?? ''}`;
    return revived;
  }
  return new HandlerError(error, shardId, context.listenerId);
}

/**
 * A fast HTTP handler returned something that is not a response (`engine.http({ api: 'fast' })`): a status
 * outside 200-999, a header name that is no token, a header value with CR, LF or NUL (which would split
 * the response), or a body of the wrong type. The request is answered 500 and the error reported.
 */
export class InvalidResponseError extends SockshardError {
  constructor(message: string) {
    super('ERR_HTTP_INVALID_RESPONSE', `invalid fast HTTP response: ${message}`);
  }
}

/**
 * A fast request's head was read after its handler had answered synchronously: its bytes lived in the
 * shard's slab, which later reads reuse. Read what you need before returning, or return a promise (an
 * async handler's requests keep their head for as long as they are referenced).
 */
export class FastRequestReleasedError extends SockshardError {
  constructor() {
    super(
      'ERR_REQUEST_RELEASED',
      'this request was answered synchronously, so its head is gone: read headers and the URL before returning',
    );
  }
}

/** A fast request's body was being read when its connection ended (the client went away). */
export class FastRequestAbortedError extends SockshardError {
  constructor() {
    super('ERR_REQUEST_ABORTED', 'the connection closed before the request body was complete');
  }
}
