/**
 * The one loader of sockshard's native addon (`native/`, N-API in C, built by `npm install` with
 * node-gyp) and its hand-written typed interface: listen with SO_REUSEPORT, accept4 in batches driven by a
 * uv_poll on the listening fd, UDP sockets with SO_REUSEPORT and buffer sizes, close, dup. Linux only.
 *
 * Importing this module never throws: the addon loads on first use, and if it cannot, every function
 * throws `NativeAddonUnavailableError` (check `nativeAvailable()` first to fall back instead).
 *
 * Errors from syscalls are `SyscallError`s thrown by the addon itself (`code` = errno name). Every fd
 * returned here is non-blocking and close-on-exec, and belongs to the caller: adopt it
 * (`new net.Socket({ fd })`, `dgram.createSocket('udp4').bind({ fd })`) or `close` it.
 *
 * @example
 * ```ts
 * const { fd, port } = listen({ host: '127.0.0.1', port: 0, reusePort: true });
 * const out = new Int32Array(64 * ACCEPTED_STRIDE);
 * const handle = startAccepting(fd, out, (count) => {
 *   if (count < 0) {
 *     console.warn(acceptError(count).message); // e.g. EMFILE: accepting paused
 *     setTimeout(() => resumeAccepting(handle), 100);
 *     return;
 *   }
 *   for (let i = 0; i < count; i++) {
 *     const socket = new net.Socket({ fd: out[i * ACCEPTED_STRIDE + ACCEPTED_FD]!, readable: true, writable: true });
 *     socket.pipe(socket);
 *   }
 * });
 * // later: stopAccepting(handle); close(fd);
 * ```
 */
import { createRequire } from 'node:module';
import { isIP } from 'node:net';
import { fileURLToPath } from 'node:url';
import { getSystemErrorMap } from 'node:util';
import { InvalidOptionError, NativeAddonUnavailableError, SyscallError } from '../errors.js';

/** node-gyp's output, from src/native (tsx, vitest) and dist/native (built) alike: both sit two levels down. */
const ADDON_PATH = '../../build/Release/sockshard_native.node';

/** Layout of one accepted connection in the `out` array of `startAccepting`: `[fd, addressHash]`. */
export const ACCEPTED_FD = 0;
export const ACCEPTED_ADDRESS_HASH = 1;
export const ACCEPTED_STRIDE = 2;

/** Backlog when none is given: Node's default for `server.listen`. */
const DEFAULT_BACKLOG = 511;
/** Linux doubles SO_RCVBUF/SO_SNDBUF values into an int; the addon checks the same bound. */
const MAX_BUFFER_SIZE = 2 ** 30 - 1;
const MAX_PORT = 65_535;

export interface BindOptions {
  /** An IPv4 or IPv6 address literal: `127.0.0.1`, `0.0.0.0`, `::1`, `::`. Nothing here resolves names. */
  readonly host: string;
  /** 0 lets the kernel pick a free port; the result's `port` is the one it picked. */
  readonly port: number;
  /** SO_REUSEPORT: sockets that all set it may bind the same address; the kernel balances between them. */
  readonly reusePort?: boolean;
  /** For an IPv6 host: refuse IPv4 peers (IPV6_V6ONLY). Default false, so `::` is dual-stack. */
  readonly ipv6Only?: boolean;
}

export interface ListenOptions extends BindOptions {
  /** Pending-connection queue length, capped by the kernel at net.core.somaxconn. Default 511. */
  readonly backlog?: number;
}

export interface UdpSocketOptions extends BindOptions {
  /** SO_RCVBUF in bytes (the kernel doubles it and caps it at net.core.rmem_max). Default: the kernel's. */
  readonly recvBufferSize?: number;
  /** SO_SNDBUF in bytes (capped at net.core.wmem_max). Default: the kernel's. */
  readonly sendBufferSize?: number;
}

/** A bound socket: its fd (owned by the caller) and the local port (the kernel's pick for port 0). */
export interface BoundSocket {
  readonly fd: number;
  readonly port: number;
}

/**
 * Called once per accepted batch with the number of `[fd, addressHash]` pairs written to `out`. Read them
 * before returning (the next batch overwrites them); the fds are yours from the moment of the call. The
 * hash is a 32-bit FNV-1a of the peer IP (`>>> 0` for the unsigned value), the same for every connection
 * from one address, and IPv4-mapped peers hash as IPv4.
 *
 * A negative `count` is `-errno` (`acceptError(count)` names it) and means accepting is paused until
 * `resumeAccepting`: EMFILE, ENFILE, ENOBUFS and ENOMEM pass, so back off and resume; anything else (EBADF,
 * EINVAL, or EFAULT when `out`'s buffer was detached) is a bug that resuming will only repeat.
 *
 * A throw becomes an uncaught exception of this thread, as from a net.Server 'connection' listener.
 */
export type AcceptCallback = (count: number) => void;

declare const kAcceptHandle: unique symbol;

/** What `startAccepting` returns: opaque, only good for `stopAccepting` and `resumeAccepting`. */
export interface AcceptHandle {
  readonly [kAcceptHandle]: true;
}

/** The addon's exports exactly as native/binding.c defines them (no validation beyond types and ranges). */
export interface NativeBinding {
  listen(options: ListenOptions): BoundSocket;
  udpSocket(options: UdpSocketOptions): BoundSocket;
  close(fd: number): void;
  dup(fd: number): number;
  localPort(fd: number): number;
  startAccepting(listenFd: number, out: Int32Array, callback: AcceptCallback): AcceptHandle;
  stopAccepting(handle: AcceptHandle): void;
  resumeAccepting(handle: AcceptHandle): void;
}

/** Every function the interface names; `satisfies` keeps the list complete. */
const FUNCTIONS = Object.keys({
  listen: true,
  udpSocket: true,
  close: true,
  dup: true,
  localPort: true,
  startAccepting: true,
  stopAccepting: true,
  resumeAccepting: true,
} satisfies Record<keyof NativeBinding, true>);

type Loaded = { readonly binding: NativeBinding } | { readonly error: unknown };

const require = createRequire(import.meta.url);
let loaded: Loaded | undefined;

function load(): Loaded {
  try {
    const binding: unknown = require(ADDON_PATH);
    // A build left over from an older checkout loads fine but may lack what this wrapper calls.
    const exports = binding as Readonly<Record<string, unknown>>;
    const missing = FUNCTIONS.filter((name) => typeof exports[name] !== 'function');
    if (missing.length > 0) return { error: new Error(`stale build, missing: ${missing.join(', ')}`) };
    return { binding: binding as NativeBinding };
  } catch (error) {
    return { error };
  }
}

/** The addon, loaded on first call; throws `NativeAddonUnavailableError` if it cannot be. */
export function loadNative(): NativeBinding {
  loaded ??= load();
  if ('error' in loaded) {
    throw new NativeAddonUnavailableError(fileURLToPath(new URL(ADDON_PATH, import.meta.url)), loaded.error);
  }
  return loaded.binding;
}

/** Whether the addon loads here (it is Linux only, and may have failed to build). */
export function nativeAvailable(): boolean {
  loaded ??= load();
  return 'binding' in loaded;
}

/** Opens a non-blocking TCP listening socket (SO_REUSEADDR always; SO_REUSEPORT if asked). */
export function listen(options: ListenOptions): BoundSocket {
  checkBindOptions(options);
  const backlog = options.backlog ?? DEFAULT_BACKLOG;
  checkInteger('backlog', backlog, 1, 2 ** 31 - 1);
  return loadNative().listen({ ...pickBindOptions(options), backlog });
}

/** Opens and binds a non-blocking UDP socket (no SO_REUSEADDR: see native/ss_socket.c). */
export function udpSocket(options: UdpSocketOptions): BoundSocket {
  checkBindOptions(options);
  const { recvBufferSize = 0, sendBufferSize = 0 } = options;
  checkInteger('recvBufferSize', recvBufferSize, 0, MAX_BUFFER_SIZE);
  checkInteger('sendBufferSize', sendBufferSize, 0, MAX_BUFFER_SIZE);
  return loadNative().udpSocket({ ...pickBindOptions(options), recvBufferSize, sendBufferSize });
}

/**
 * Polls `listenFd` in this thread's event loop and accepts in batches of up to `out.length / 2`, calling
 * `callback` once per batch until the backlog is empty. The poll keeps the loop alive until
 * `stopAccepting`, or until the thread's environment exits, which stops it too. `listenFd` stays the
 * caller's: stop accepting before closing it.
 */
export function startAccepting(listenFd: number, out: Int32Array, callback: AcceptCallback): AcceptHandle {
  checkInteger('listenFd', listenFd, 0, 2 ** 31 - 1);
  if (out.length < ACCEPTED_STRIDE) {
    throw new InvalidOptionError(
      'out',
      `must hold at least one [fd, addressHash] pair (${ACCEPTED_STRIDE} slots)`,
    );
  }
  return loadNative().startAccepting(listenFd, out, callback);
}

/** Stops polling and frees the poll once libuv has closed it. Safe to call more than once. */
export function stopAccepting(handle: AcceptHandle): void {
  loadNative().stopAccepting(handle);
}

/** Polls again after the callback reported an error (a negative count); a no-op unless paused. */
export function resumeAccepting(handle: AcceptHandle): void {
  loadNative().resumeAccepting(handle);
}

/** Closes an fd this module returned (or any other); EBADF and the like throw. */
export function close(fd: number): void {
  loadNative().close(fd);
}

/** A close-on-exec duplicate of `fd`, e.g. to hand one listening socket to an owner that will close it. */
export function dup(fd: number): number {
  return loadNative().dup(fd);
}

/** The local port `fd` is bound to. */
export function localPort(fd: number): number {
  return loadNative().localPort(fd);
}

/** Names the errno of a negative accept count: `acceptError(-24).code === 'EMFILE'`. */
export function acceptError(count: number, context: { readonly fd?: number } = {}): SyscallError {
  const [code, description] = getSystemErrorMap().get(count) ?? [
    `Unknown system error ${count}`,
    'unknown error',
  ];
  return new SyscallError('accept4', count, code, description, context);
}

function checkBindOptions(options: BindOptions): void {
  // Zone ids (fe80::1%eth0) pass isIP but not inet_pton, which the addon uses.
  if (isIP(options.host) === 0 || options.host.includes('%')) {
    throw new InvalidOptionError(
      'host',
      `must be an IPv4 or IPv6 address literal, got ${JSON.stringify(options.host)}`,
    );
  }
  checkInteger('port', options.port, 0, MAX_PORT);
}

/** Only the fields the addon reads, so an options object with extra keys costs no property lookups there. */
function pickBindOptions(options: BindOptions): BindOptions {
  return {
    host: options.host,
    port: options.port,
    reusePort: options.reusePort ?? false,
    ipv6Only: options.ipv6Only ?? false,
  };
}

function checkInteger(option: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new InvalidOptionError(option, `must be an integer from ${min} to ${max}, got ${value}`);
  }
}
