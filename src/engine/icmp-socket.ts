/**
 * The coordinator's raw ICMP socket: a typed wrapper around the `raw-socket` package (CommonJS, loaded with
 * createRequire). Coordinator only, main thread only.
 *
 * The package is an optional dependency, so that its build never fails an install: the name `raw-socket`
 * is an npm alias of @neuralegion/raw-socket 1.8.6, a maintained fork of nospaceships' raw-socket 1.8.1 with
 * the same src/raw.cc. 1.8.1 pins nan 2.19, which does not compile on Node 24 or 26; the fork asks for
 * nan ^2.22 (2.26.2 and later compile on 20, 24 and 26), and ships prebuilt binaries for Node 20 and 22
 * (linux-x64). Where neither a prebuilt binary nor a build works, `open()` throws IcmpUnavailableError.
 *
 * What raw-socket does that shapes this wrapper (read in its index.js / src/raw.cc and issue tracker,
 * github.com/nospaceships/node-raw-socket):
 * - It is a NAN addon registered with NODE_MODULE, not context-aware: it loads in one thread per process
 *   ("Module did not self-register" in every later one, issue #89). Worse, its poll handle is always put on
 *   `uv_default_loop()`, which is the MAIN thread's loop even when the addon is loaded in a worker. So it
 *   is refused here outside the main thread, and shards reach it through their rings.
 * - One shared receive buffer (`bufferSize`, 4096 bytes by default) for every packet: the Buffer a
 *   'message' listener gets is a slice of it, overwritten by the next packet, so `onPacket` handlers must
 *   copy what they keep before returning (the coordinator copies into a ring). recvfrom truncates a larger
 *   packet silently (no MSG_TRUNC), so the buffer here defaults to 64 KiB; for IPv4 the parser notices a
 *   cut packet anyway (its IP total length exceeds what arrived).
 * - One recvfrom per readable event, and one queued send per writable event: every packet costs a libuv
 *   loop turn, and a queued send holds the caller's buffer (no copy) until its turn comes. So this wrapper
 *   uses the socket's own native `wrap` (an own property in 1.8, typed below; it falls back to the
 *   public API if the layout ever differs): `wrap.recv` in a loop until EAGAIN on each readable event, and
 *   `wrap.send`, a synchronous sendto(2), for `sendNow`: the kernel has copied the bytes when it returns,
 *   so a ring record can be released right away. `wrap.send` does not check `offset + length` against the
 *   buffer (the public `send` does), so it is checked here first.
 * - Errors are plain `Error`s whose message is strerror(errno), without `code`; they are mapped back to
 *   errno names here (EPERM at creation becomes `IcmpPermissionError`). A poll error closes the socket
 *   ('error' then 'close'); an unhandled 'error' event would crash the process, so one is always attached.
 * - `generateChecksums` / `checksumOffset` are documented but not implemented in 1.8 (issue #63): the
 *   ICMP checksum is ours (src/icmp/checksum.ts). For ICMPv6 the kernel fills it in (RFC 3542 §3.1).
 * - The native socket object can be garbage-collected, closing the socket, when nothing references it
 *   (issue #70, pull #73); this wrapper holds it until `close()`. The poll handle is ref'd: an open socket
 *   keeps the event loop alive.
 * - After `close()`, a send on the raw-socket object silently opens a NEW raw socket (its send path calls
 *   CreateSocket), so this wrapper refuses sends once closed and rejects the ones still queued.
 * - Under load the kernel drops packets once the socket's receive buffer is full; SO_RCVBUF (issue #39)
 *   can be raised with `receiveBufferSize` (capped by net.core.rmem_max).
 *
 * IPv6: `family: 6` opens an AF_INET6 / IPPROTO_ICMPV6 raw socket; on ::1 it sends an echo request (type
 * 128, checksum left 0 and filled in by the kernel) and receives the reply (129) and, as with IPv4, our own
 * request. IPv6 raw sockets deliver the ICMPv6 message WITHOUT the IPv6 header (RFC 3542), so src/icmp's
 * IPv4 parser does not apply to them.
 */

import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import { getSystemErrorMap } from 'node:util';
import { isMainThread } from 'node:worker_threads';
import {
  IcmpPermissionError,
  IcmpSocketClosedError,
  IcmpUnavailableError,
  InvalidOptionError,
  SockshardError,
  SyscallError,
} from '../errors.js';
import { parseIpv4 } from '../ip-address.js';
import { checkInteger } from '../validate.js';

/** The parts of raw-socket 1.8 this wrapper uses (typed here: the fork's index.d.ts lacks `wrap`). */
interface RawSocketWrap {
  send(
    buffer: Uint8Array,
    offset: number,
    length: number,
    address: string,
    callback: (bytes: number) => void,
  ): void;
  recv(buffer: Buffer, callback: (buffer: Buffer, bytes: number, source: string) => void): void;
  /** EventEmitter methods copied onto SocketWrap's prototype by raw-socket's index.js. */
  on(event: 'recvReady', listener: () => void): void;
  removeAllListeners(event: 'recvReady'): void;
}

interface RawSocket {
  /** The native SocketWrap (an own property in 1.8). */
  readonly wrap?: RawSocketWrap;
  on(event: 'message', listener: (buffer: Buffer, source: string) => void): RawSocket;
  on(event: 'error', listener: (error: unknown) => void): RawSocket;
  on(event: 'close', listener: () => void): RawSocket;
  send(
    buffer: Buffer,
    offset: number,
    length: number,
    address: string,
    afterCallback: (error: Error | null, bytes: number) => void,
  ): RawSocket;
  setOption(level: number, option: number, value: number): void;
  getOption(level: number, option: number, buffer: Buffer, length: number): number;
  close(): RawSocket;
}

interface RawSocketModule {
  createSocket(options: { addressFamily: number; protocol: number; bufferSize: number }): RawSocket;
  readonly AddressFamily: { readonly IPv4: number; readonly IPv6: number };
  readonly Protocol: { readonly ICMP: number; readonly ICMPv6: number };
  readonly SocketLevel: { readonly SOL_SOCKET: number };
  readonly SocketOption: { readonly SO_RCVBUF: number };
}

export type IcmpFamily = 4 | 6;

export interface IcmpSocketOptions {
  /** 4 (default): AF_INET / IPPROTO_ICMP, packets arrive with their IPv4 header. 6: AF_INET6 / ICMPv6. */
  readonly family?: IcmpFamily;
  /** raw-socket's receive buffer: the largest packet received whole (default 65536 bytes). */
  readonly packetBufferSize?: number;
  /** SO_RCVBUF in bytes (Linux doubles it and caps it at net.core.rmem_max); default: the kernel's. */
  readonly receiveBufferSize?: number;
  /** Packets read per readiness event before yielding to the event loop (default 64). */
  readonly maxBatch?: number;
}

/**
 * A received packet: a view of the socket's one receive buffer, valid only until this call returns (the
 * next packet overwrites it). `source` is the sender's address as text.
 */
export type IcmpPacketHandler = (packet: Buffer, source: string) => void;

export interface IcmpSocketCounters {
  received: number;
  sent: number;
  sendErrors: number;
  /** Sends that went through raw-socket's queue (after EAGAIN / ENOBUFS, or without `wrap.send`). */
  queued: number;
  /** Errors raw-socket emitted, and errors thrown by the packet handler. */
  errors: number;
}

const DEFAULT_PACKET_BUFFER = 65_536;
const DEFAULT_MAX_BATCH = 64;
const INT32_BYTES = 4;
/** Errors after which a later send may succeed: the queued path waits for the socket to be writable. */
const RETRYABLE = new Set(['EAGAIN', 'EWOULDBLOCK', 'ENOBUFS']);
/** glibc's strerror text where it differs from libuv's (util.getSystemErrorMap). */
const GLIBC_MESSAGES: Readonly<Record<string, string>> = { 'no route to host': 'EHOSTUNREACH' };
const UNKNOWN_ERRNO = -4094;
const NUMERIC = /^-?\d+$/;

const require = createRequire(import.meta.url);
let rawSocket: RawSocketModule | undefined;

function loadRawSocket(): RawSocketModule {
  if (rawSocket !== undefined) return rawSocket;
  if (!isMainThread) {
    throw new IcmpUnavailableError(
      'raw-socket can only run in the main thread (the coordinator): it is not context-aware, and it polls ' +
        "on the main thread's event loop wherever it is loaded. Shards send ICMP through their rings.",
    );
  }
  try {
    rawSocket = require('raw-socket') as RawSocketModule;
  } catch (cause) {
    throw new IcmpUnavailableError(
      `the raw-socket package could not be loaded (${cause instanceof Error ? cause.message : String(cause)}): ` +
        'it is an optional dependency of sockshard, installed prebuilt for Node 20 and 22 and built from ' +
        'source elsewhere, which needs python3, make and a C++ compiler; `npm rebuild raw-socket` builds it',
      cause,
    );
  }
  return rawSocket;
}

let errnoByMessage: Map<string, { readonly name: string; readonly errno: number }> | undefined;

/** raw-socket throws `new Error(strerror(errno))`: recover the errno name from the text. */
function errnoOf(message: string): { readonly name: string; readonly errno: number; readonly text: string } {
  if (errnoByMessage === undefined) {
    errnoByMessage = new Map();
    const byName = new Map<string, number>();
    for (const [errno, [name, text]] of getSystemErrorMap()) {
      errnoByMessage.set(text.toLowerCase(), { name, errno });
      byName.set(name, errno);
    }
    for (const [text, name] of Object.entries(GLIBC_MESSAGES)) {
      const errno = byName.get(name);
      if (errno !== undefined) errnoByMessage.set(text, { name, errno });
    }
  }
  if (NUMERIC.test(message)) {
    const errno = Number(message);
    const [name, text] = getSystemErrorMap().get(errno) ?? ['UNKNOWN', 'unknown error'];
    return { name, errno, text };
  }
  const text = message.toLowerCase();
  const found = errnoByMessage.get(text);
  return found === undefined ? { name: 'UNKNOWN', errno: UNKNOWN_ERRNO, text } : { ...found, text };
}

/** One synchronous sendto(2) through raw-socket's native wrap; returns the bytes sent. */
function sendDirect(
  direct: RawSocketWrap,
  bytes: Uint8Array,
  offset: number,
  length: number,
  address: string,
): number {
  let sent = -1;
  direct.send(bytes, offset, length, address, (bytesSent) => {
    sent = bytesSent;
  });
  return sent;
}

function syscallError(syscall: string, cause: unknown, address?: string): SockshardError {
  if (cause instanceof SockshardError) return cause;
  const { name, errno, text } = errnoOf(cause instanceof Error ? cause.message : String(cause));
  // Not SyscallError's `address` context: it would print a port, and ICMP has none.
  const description = address === undefined ? text : `${text} (to ${address})`;
  const error = new SyscallError(syscall, errno, name, description);
  Object.defineProperty(error, 'cause', { value: cause, configurable: true, writable: true });
  return error;
}

export class IcmpSocket {
  readonly family: IcmpFamily;
  readonly counters: IcmpSocketCounters = { received: 0, sent: 0, sendErrors: 0, queued: 0, errors: 0 };
  readonly #raw: RawSocketModule;
  readonly #socket: RawSocket;
  readonly #direct: RawSocketWrap | undefined;
  readonly #pending = new Set<(error: Error) => void>();
  #onPacket: IcmpPacketHandler | undefined;
  #onError: ((error: Error) => void) | undefined;
  #closed = false;

  /**
   * Opens a raw ICMP socket. Throws `IcmpPermissionError` without CAP_NET_RAW, `IcmpUnavailableError`
   * when raw-socket cannot be loaded here, and `SyscallError` for any other failure.
   */
  static open(options: IcmpSocketOptions = {}): IcmpSocket {
    const family = options.family ?? 4;
    if (family !== 4 && family !== 6)
      throw new InvalidOptionError('family', `must be 4 or 6, got ${String(family)}`);
    const packetBufferSize = checkInteger(
      'packetBufferSize',
      options.packetBufferSize ?? DEFAULT_PACKET_BUFFER,
      1,
      2 ** 30,
    );
    const maxBatch = checkInteger('maxBatch', options.maxBatch ?? DEFAULT_MAX_BATCH, 1, 2 ** 20);
    const raw = loadRawSocket();
    let socket: RawSocket;
    try {
      socket = raw.createSocket({
        addressFamily: family === 4 ? raw.AddressFamily.IPv4 : raw.AddressFamily.IPv6,
        protocol: family === 4 ? raw.Protocol.ICMP : raw.Protocol.ICMPv6,
        bufferSize: packetBufferSize,
      });
    } catch (cause) {
      const error = syscallError('socket', cause);
      if (error.code === 'EPERM' || error.code === 'EACCES') throw new IcmpPermissionError(error.code, error);
      throw error;
    }
    const icmp = new IcmpSocket(raw, socket, family, packetBufferSize, maxBatch);
    if (options.receiveBufferSize !== undefined) {
      try {
        icmp.setReceiveBufferSize(options.receiveBufferSize);
      } catch (error) {
        icmp.close();
        throw error;
      }
    }
    return icmp;
  }

  private constructor(
    raw: RawSocketModule,
    socket: RawSocket,
    family: IcmpFamily,
    packetBufferSize: number,
    maxBatch: number,
  ) {
    this.#raw = raw;
    this.#socket = socket;
    this.family = family;
    const wrap = socket.wrap;
    this.#direct = typeof wrap?.send === 'function' ? wrap : undefined;
    if (
      wrap !== undefined &&
      typeof wrap.recv === 'function' &&
      typeof wrap.on === 'function' &&
      typeof wrap.removeAllListeners === 'function'
    ) {
      // raw-socket reads one packet per readiness event, so each costs a loop turn; reading until EAGAIN
      // (at most maxBatch) took echo round trips on 127.0.0.1 from 53k/s to 86k/s with 16 in flight.
      const buffer = Buffer.allocUnsafe(packetBufferSize);
      wrap.removeAllListeners('recvReady');
      wrap.on('recvReady', () => this.#drain(wrap, buffer, maxBatch));
    } else {
      socket.on('message', (packet, source) => this.#deliver(packet, source));
    }
    // A poll failure arrives as an Error whose message is the libuv status number; a recvfrom failure as
    // strerror text.
    socket.on('error', (cause) => {
      const numeric = cause instanceof Error && NUMERIC.test(cause.message);
      this.#error(syscallError(numeric ? 'poll' : 'recvfrom', cause));
    });
    socket.on('close', () => this.#markClosed());
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Sets the one packet handler (replacing any); `undefined` drops packets (they are still counted). */
  onPacket(handler: IcmpPacketHandler | undefined): void {
    this.#onPacket = handler;
  }

  /** Sets the one error handler; without one, errors are only counted. */
  onError(handler: ((error: Error) => void) | undefined): void {
    this.#onError = handler;
  }

  /**
   * Sends `length` bytes of `bytes` from `offset` (an ICMP message, no IP header) to `address` now, with
   * one sendto(2), and returns the bytes sent. The kernel has copied them when this returns, so the memory
   * (a ring record) can be reused at once. Throws `SyscallError` (code EAGAIN / ENOBUFS when the socket's
   * send buffer is full: ICMP is lossy, count it and move on, or use `send`), `IcmpSocketClosedError`, or
   * `InvalidOptionError` for an address of the wrong family or a range outside `bytes`.
   */
  sendNow(bytes: Uint8Array, offset: number, length: number, address: string): number {
    this.#check(bytes, offset, length, address);
    const direct = this.#direct;
    if (direct === undefined) {
      // Not raw-socket 1.8's layout: fall back to its queue (with a copy, so the caller may reuse the memory).
      this.#enqueue(bytes, offset, length, address).catch((error: Error) => this.#error(error));
      return length;
    }
    try {
      const sent = sendDirect(direct, bytes, offset, length, address);
      this.counters.sent++;
      return sent;
    } catch (cause) {
      this.counters.sendErrors++;
      throw syscallError('sendto', cause, address);
    }
  }

  /**
   * Sends like `sendNow`, but waits instead of failing when the socket's send buffer is full (the bytes are
   * copied first, so the caller may reuse its memory as soon as this is called).
   */
  send(bytes: Uint8Array, offset: number, length: number, address: string): Promise<number> {
    try {
      this.#check(bytes, offset, length, address);
    } catch (error) {
      return Promise.reject(error);
    }
    const direct = this.#direct;
    if (direct !== undefined) {
      try {
        const sent = sendDirect(direct, bytes, offset, length, address);
        this.counters.sent++;
        return Promise.resolve(sent);
      } catch (cause) {
        const error = syscallError('sendto', cause, address);
        if (!RETRYABLE.has(error.code)) {
          this.counters.sendErrors++;
          return Promise.reject(error);
        }
      }
    }
    return this.#enqueue(bytes, offset, length, address);
  }

  /** raw-socket's own queue: sendto when the socket is next writable. */
  #enqueue(bytes: Uint8Array, offset: number, length: number, address: string): Promise<number> {
    const copy = Buffer.from(bytes.subarray(offset, offset + length));
    this.counters.queued++;
    return new Promise<number>((resolve, reject) => {
      const fail = (error: Error) => {
        this.#pending.delete(fail);
        reject(error);
      };
      this.#pending.add(fail);
      this.#socket.send(copy, 0, copy.length, address, (error, bytesSent) => {
        if (!this.#pending.delete(fail)) return;
        if (error === null) {
          this.counters.sent++;
          resolve(bytesSent);
        } else {
          this.counters.sendErrors++;
          reject(syscallError('sendto', error, address));
        }
      });
    });
  }

  /** Sets SO_RCVBUF (bytes) and returns what the kernel granted (Linux reports double the request). */
  setReceiveBufferSize(bytes: number): number {
    checkInteger('receiveBufferSize', bytes, 1, 2 ** 30);
    if (this.#closed) throw new IcmpSocketClosedError();
    const { SocketLevel, SocketOption } = this.#raw;
    try {
      this.#socket.setOption(SocketLevel.SOL_SOCKET, SocketOption.SO_RCVBUF, bytes);
    } catch (cause) {
      throw syscallError('setsockopt', cause);
    }
    return this.receiveBufferSize();
  }

  /** SO_RCVBUF as the kernel reports it. */
  receiveBufferSize(): number {
    if (this.#closed) throw new IcmpSocketClosedError();
    const { SocketLevel, SocketOption } = this.#raw;
    const value = Buffer.alloc(INT32_BYTES);
    try {
      this.#socket.getOption(SocketLevel.SOL_SOCKET, SocketOption.SO_RCVBUF, value, value.length);
    } catch (cause) {
      throw syscallError('getsockopt', cause);
    }
    return value.readInt32LE(0);
  }

  /** Closes the socket; sends still queued reject with `IcmpSocketClosedError`. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#socket.close();
    this.#markClosed();
  }

  /** Reads until the socket is empty (EAGAIN) or `maxBatch` packets, handing each to the handler. */
  #drain(wrap: RawSocketWrap, buffer: Buffer, maxBatch: number): void {
    for (let i = 0; i < maxBatch; i++) {
      // A handler may close the socket; a recv after close would make raw-socket open a new one.
      if (this.#closed) return;
      let length = -1;
      let from = '';
      try {
        wrap.recv(buffer, (_buffer, bytes, source) => {
          length = bytes;
          from = source;
        });
      } catch (cause) {
        const error = syscallError('recvfrom', cause);
        if (!RETRYABLE.has(error.code)) this.#error(error);
        return;
      }
      this.#deliver(buffer.subarray(0, length), from);
    }
  }

  #deliver(packet: Buffer, source: string): void {
    this.counters.received++;
    const handler = this.#onPacket;
    if (handler === undefined) return;
    // A throwing handler must not reach raw-socket, which would report it as a socket error.
    try {
      handler(packet, source);
    } catch (error) {
      this.#error(error instanceof Error ? error : new Error(String(error)));
    }
  }

  #markClosed(): void {
    if (this.#closed) return;
    this.#closed = true;
    const error = new IcmpSocketClosedError();
    for (const fail of [...this.#pending]) fail(error);
  }

  #check(bytes: Uint8Array, offset: number, length: number, address: string): void {
    if (this.#closed) throw new IcmpSocketClosedError();
    if (
      !Number.isInteger(offset) ||
      !Number.isInteger(length) ||
      offset < 0 ||
      length < 0 ||
      offset + length > bytes.length
    ) {
      throw new InvalidOptionError(
        'length',
        `${String(length)} bytes at offset ${String(offset)} do not fit in ${bytes.length} bytes`,
      );
    }
    const valid = this.family === 4 ? net.isIPv4(address) : net.isIPv6(address);
    if (!valid)
      throw new InvalidOptionError('address', `must be an IPv${this.family} address, got ${address}`);
  }

  #error(error: Error): void {
    this.counters.errors++;
    this.#onError?.(error);
  }
}

/**
 * This host's IPv4 addresses as unsigned 32-bit numbers (every interface, loopback included): our own echo
 * requests come back to the raw socket from one of them (e.g. when a shard pings the host's own address),
 * so the demultiplexer's `isLocalAddress` should know them all.
 */
export function localIpv4Addresses(): Set<number> {
  const addresses = new Set<number>();
  for (const entries of Object.values(os.networkInterfaces())) {
    for (const entry of entries ?? []) {
      if (entry.family !== 'IPv4') continue;
      const address = parseIpv4(entry.address);
      if (address >= 0) addresses.add(address);
    }
  }
  return addresses;
}
