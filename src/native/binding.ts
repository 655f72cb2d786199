/**
 * The one loader of sockshard's native addon (`native/`, N-API in C) and its hand-written typed interface: listen with SO_REUSEPORT, accept4 in batches driven by a
 * uv_poll on the listening fd, UDP sockets with SO_REUSEPORT and buffer sizes, UDP datagrams in batches
 * (recvmmsg driven by a uv_poll, sendmmsg) straight to and from a slab, close, dup; and for the process
 * hand-over, Unix SEQPACKET sockets that carry descriptors (SCM_RIGHTS), a readiness watch, and a
 * description of an inherited socket. Linux only.
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
import { fileURLToPath } from 'node:url';
import { getSystemErrorMap } from 'node:util';
import {
  InvalidOptionError,
  NativeAddonUnavailableError,
  SyscallError,
  type SyscallErrorContext,
} from '../errors.js';
import { parseIpBlock } from '../ip-address.js';
import { PACKAGE_ROOT } from '../package-root.js';
import { checkInteger, checkIpLiteral } from '../validate.js';

/**
 * node-gyp-build finds the addon for this Node and platform: a local build (`build/Release`: what the
 * install script always compiles in a clone, where `src/` exists, or what an installed package had to build
 * because its prebuilt binary did not load) first, else the prebuilt N-API binary that the package ships in
 * `prebuilds/linux-x64/` (N-API is ABI-stable: one binary serves Node 20 to 26).
 */
const ADDON_ROOT = fileURLToPath(PACKAGE_ROOT);

/** Layout of one accepted connection in the `out` array of `startAccepting`: `[fd, addressHash]`. */
export const ACCEPTED_FD = 0;
export const ACCEPTED_ADDRESS_HASH = 1;
export const ACCEPTED_STRIDE = 2;

/*
 * UDP in batches (`startUdpBatch`, `sendUdpBatch`): datagram bytes live in a `slab` (a Uint8Array, over a
 * SharedArrayBuffer or an ArrayBuffer), their descriptions in a `meta` Int32Array: UDP_META_HEADER_WORDS
 * header words, then one record of DGRAM_WORDS words per datagram. native/ss.h has the same table.
 *
 *   word  byte  name            receive (the addon writes)                send (the caller writes)
 *   +0    +0    DGRAM_OFFSET    slot offset in the slab: i * stride      offset of the bytes in the slab
 *   +1    +4    DGRAM_LENGTH    the datagram's real length               bytes to send (0 is allowed)
 *   +2    +8    DGRAM_FLAGS     DGRAM_TRUNCATED: longer than maxDatagram  0; the addon writes the errno of
 *                               and cut; never deliver it                 a datagram that failed
 *   +3    +12   DGRAM_FAMILY    4 or 6 (0: the kernel gave no address)   4 or 6 (4 also on a dual-stack socket)
 *   +4    +16   DGRAM_PORT      the peer's port                          the destination port
 *   +5    +20   DGRAM_ADDRESS   IPv4: one word (words +6..+8 are 0); IPv6: four words. Each word is a
 *   ..+8  ..+35                 big-endian 32-bit group read as a number: 127.0.0.1 is 0x7f000001
 *                               (as an Int32: `>>> 0` for the unsigned value), ::1 is 0, 0, 0, 1.
 *
 *   header  receive meta (cumulative; written only by the polling thread)   send meta (each sendUdpBatch)
 *   0       UDP_META_RECV_ICMP_ERRORS: peer errors taken instead of data    UDP_META_SEND_SENT
 *   1       UDP_META_RECV_ICMP_LAST_ERRNO: the last one's errno (positive)   UDP_META_SEND_FAILED
 *   2                                                                        UDP_META_SEND_FIRST_ERRNO
 *   3                                                                        UDP_META_SEND_STOP_ERRNO
 *   4                                                                        UDP_META_SEND_ICMP_ERRORS
 *   5                                                                        UDP_META_SEND_SENT_BYTES
 *   6-7     reserved
 *
 * A receive slab holds `batch` slots of `stride` bytes (maxDatagram rounded up to 8, so every slot is
 * 8-byte aligned for typed views over a datagram); `udpBatchSizes` computes all three sizes.
 */
export const UDP_META_HEADER_WORDS = 8;
/** Receive header: peer errors (ECONNREFUSED and the like: ICMP reports about an earlier datagram) counted and skipped. */
export const UDP_META_RECV_ICMP_ERRORS = 0;
/** Receive header: the positive errno of the last such error. */
export const UDP_META_RECV_ICMP_LAST_ERRNO = 1;
/** Send header: datagrams the kernel took. */
export const UDP_META_SEND_SENT = 0;
/** Send header: datagrams that failed on an error of their own (EMSGSIZE, EINVAL for port 0, ...), skipped. */
export const UDP_META_SEND_FAILED = 1;
/** Send header: the positive errno of the first failed datagram, 0 if none failed. */
export const UDP_META_SEND_FIRST_ERRNO = 2;
/** Send header: EAGAIN or ENOBUFS (positive) when a full buffer stopped the batch early, else 0. */
export const UDP_META_SEND_STOP_ERRNO = 3;
/** Send header: pending peer errors that surfaced on send (the datagram was then sent again, once). */
export const UDP_META_SEND_ICMP_ERRORS = 4;
/** Send header: the bytes of the datagrams the kernel took (unsigned: read it with `>>> 0`). */
export const UDP_META_SEND_SENT_BYTES = 5;

export const DGRAM_WORDS = 9;
export const DGRAM_OFFSET = 0;
export const DGRAM_LENGTH = 1;
export const DGRAM_FLAGS = 2;
export const DGRAM_FAMILY = 3;
export const DGRAM_PORT = 4;
export const DGRAM_ADDRESS = 5;
export const DGRAM_ADDRESS_WORDS = 4;
/** DGRAM_FLAGS bit: the datagram was longer than maxDatagram; DGRAM_LENGTH is its real length. */
export const DGRAM_TRUNCATED = 1;
export const FAMILY_IPV4 = 4;
export const FAMILY_IPV6 = 6;

/** recvmmsg and sendmmsg take at most UIO_MAXIOV (1024) messages per call. */
export const UDP_MAX_BATCH = 1024;
/** The largest UDP payload (65535 less the 8-byte UDP header; over IPv4, 20 bytes less again). */
export const UDP_MAX_DATAGRAM = 65_527;
/** Receive slots are aligned to this many bytes. */
const UDP_SLOT_ALIGN = 8;

/*
 * Header readers (`startHeaderReader`): accepted fds waiting for their first bytes, in one epoll set per
 * reader. Results are records of HEADER_WORDS Int32 words in `out`; native/ss.h has the same table.
 *
 *   word  name            HEADER_READ_PROXY                           HEADER_PEEK_CLIENT_HELLO
 *   0     HEADER_FD       the connection (the caller's again)
 *   1     HEADER_STATUS   HEADER_OK, HEADER_LOCAL or a failure        HEADER_TICKET or HEADER_NO_TICKET
 *   2     HEADER_FAMILY   4 or 6: the client's address (OK), or the peer's (LOCAL: a health check)
 *   3     HEADER_PORT     its port
 *   4..7  HEADER_ADDRESS  big-endian groups, as DGRAM_ADDRESS          TICKET: the ticket key name's 16 bytes
 *   8     HEADER_HASH     the address hash the acceptor uses (`>>> 0` for the unsigned value)
 *   9     HEADER_VERSION  1 or 2
 *   10    HEADER_ERRNO    HEADER_CLOSED: the errno that ended it (0: the peer closed)
 *   11    reserved
 */
export const HEADER_READ_PROXY = 1;
export const HEADER_PEEK_CLIENT_HELLO = 2;
export const HEADER_WORDS = 12;
export const HEADER_FD = 0;
export const HEADER_STATUS = 1;
export const HEADER_FAMILY = 2;
export const HEADER_PORT = 3;
export const HEADER_ADDRESS = 4;
export const HEADER_HASH = 8;
export const HEADER_VERSION = 9;
export const HEADER_ERRNO = 10;
/** `addHeaderFd`: added, its result will come through the callback. */
export const HEADER_PENDING = 0;
/** A PROXY header was read (and consumed); the address is the client's. */
export const HEADER_OK = 1;
/** A PROXY header that says "use the connection's own endpoints" (v2 LOCAL, v1 UNKNOWN); the peer's address. */
export const HEADER_LOCAL = 2;
/** The first bytes are no PROXY header at all. */
export const HEADER_MISSING = 3;
/** A PROXY signature followed by what the spec does not allow. */
export const HEADER_MALFORMED = 4;
/** v1: no CRLF within 107 bytes; v2: longer than `maxHeader`. */
export const HEADER_OVERSIZED = 5;
/** The peer closed or reset before a whole header (or, from addHeaderFd, was gone already). */
export const HEADER_CLOSED = 6;
/** From addHeaderFd: the source is not in the allowlist (the fd was not added). */
export const HEADER_REFUSED = 7;
/** The ClientHello offers a session ticket; its key name is in HEADER_ADDRESS's 16 bytes. */
export const HEADER_TICKET = 8;
/** The ClientHello offers no ticket (or is no ClientHello, or the peer closed: TLS will see to it). */
export const HEADER_NO_TICKET = 9;
/** Bytes per allowlist entry: family (4 or 6), prefix bits, two zero bytes, 16 address bytes. */
export const ALLOW_ENTRY_BYTES = 20;
const ALLOW_WORDS_OFFSET = 4;
/** The longest PROXY v2 header a reader may accept (the 16 fixed bytes and a 16-bit length). */
export const HEADER_MAX_PROXY = 16 + 65_535;
/** The shortest `maxHeader` (a v1 line may take 107 bytes). */
export const HEADER_MIN_PROXY = 107;

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

/**
 * Called once per received batch with the number of datagrams whose records (and bytes) the addon wrote
 * into `meta` (and `slab`). Read them before returning: the next batch overwrites them. Records with
 * DGRAM_TRUNCATED set are datagrams longer than maxDatagram, cut to fit: drop them.
 *
 * A negative `count` is `-errno` (`udpBatchError(count)` names it) and means polling is paused until
 * `resumeUdpBatch`: ENOMEM and ENOBUFS pass, so back off and resume; EFAULT means `slab` or `meta` was
 * detached or shrunk; anything else (EBADF, ENOTSOCK) is a bug that resuming will only repeat. Peer errors
 * (an ICMP report such as port unreachable, which Linux delivers on connected sockets) never pause: they
 * are counted in meta's UDP_META_RECV_ICMP_ERRORS.
 *
 * A throw becomes an uncaught exception of this thread, as from a dgram 'message' listener.
 */
export type UdpBatchCallback = (count: number) => void;

declare const kUdpBatchHandle: unique symbol;

/** What `startUdpBatch` returns: opaque, only good for `stopUdpBatch` and `resumeUdpBatch`. */
export interface UdpBatchHandle {
  readonly [kUdpBatchHandle]: true;
}

/**
 * Called with the number of records written to `out` (read them before returning: the next call overwrites
 * them); each fd is out of the reader and the caller's again. A negative count is `-errno` and means the
 * reader paused (EFAULT: `out` was detached); a throw becomes an uncaught exception of this thread.
 */
export type HeaderCallback = (count: number) => void;

declare const kHeaderReaderHandle: unique symbol;

/** What `startHeaderReader` returns: opaque, only good for the header-reader functions. */
export interface HeaderReaderHandle {
  readonly [kHeaderReaderHandle]: true;
}

/** The sizes of one batch's buffers, from `udpBatchSizes`. */
export interface UdpBatchSizes {
  /** Bytes per receive slot: maxDatagram rounded up to 8. */
  readonly stride: number;
  /** A receive slab's minimum length in bytes: batch * stride. */
  readonly slabBytes: number;
  /** A meta array's minimum length in elements: header + batch records. */
  readonly metaLength: number;
}

/*
 * Stream groups (`startStreams`): one thread's TCP connections, each on a uv_poll in its loop, read with
 * recv into the slab's input region and written with writev from anywhere in the slab. native/ss.h has
 * the same tables.
 *
 *   events, STREAM_EVENT_WORDS words each (the addon writes; valid during the callback):
 *   +0 STREAM_EVENT_TYPE  +1 STREAM_EVENT_ID  +2 STREAM_EVENT_A  +3 STREAM_EVENT_B
 *   STREAM_DATA     A = offset in the slab, B = length: bytes the peer sent (8-byte aligned offsets)
 *   STREAM_EOF      the peer shut its write side
 *   STREAM_ERROR    A = errno of a failed read or write: the stream reads and writes no more, destroy it
 *   STREAM_DRAINED  output that had passed highWater has all gone to the kernel
 *   STREAM_CLOSED   the group closed the stream after an END record (and the peer's close): forget the id
 *   STREAM_NONE     dropped (its stream was destroyed meanwhile): skip
 *
 *   out (the caller writes, then calls streamsFlush): word STREAM_OUT_COUNT = records, word 1 reserved,
 *   then STREAM_OUT_WORDS words per record: [id, offset, length, flags]; flags STREAM_OUT_END shuts the
 *   write side after the record's bytes, drops what the peer still sends, and closes (then STREAM_CLOSED).
 *
 *   pending (the addon writes): per stream id, the bytes the kernel has not taken yet.
 */
export const STREAM_EVENT_WORDS = 4;
export const STREAM_EVENT_TYPE = 0;
export const STREAM_EVENT_ID = 1;
export const STREAM_EVENT_A = 2;
export const STREAM_EVENT_B = 3;
export const STREAM_NONE = 0;
export const STREAM_DATA = 1;
export const STREAM_EOF = 2;
export const STREAM_ERROR = 3;
export const STREAM_DRAINED = 4;
export const STREAM_CLOSED = 5;
export const STREAM_OUT_HEADER_WORDS = 2;
export const STREAM_OUT_COUNT = 0;
export const STREAM_OUT_WORDS = 4;
export const STREAM_OUT_ID = 0;
export const STREAM_OUT_OFFSET = 1;
export const STREAM_OUT_LENGTH = 2;
export const STREAM_OUT_FLAGS = 3;
export const STREAM_OUT_END = 1;

export interface StreamsOptions {
  /** The slab's input region, [0, inBytes): where reads land. The rest is the caller's for output. */
  readonly inBytes: number;
  /** The most one recv takes (default 64 KiB); at most inBytes. */
  readonly readBytes?: number;
  /** Stop reading a stream with more unsent output than this (default 64 KiB). */
  readonly highWater?: number;
}

/**
 * Called once per loop turn with the number of events written to `events` (after every readable stream
 * of this turn was read), and earlier when the slab's input region fills. A throw becomes an uncaught
 * exception of this thread.
 */
export type StreamsCallback = (count: number) => void;

declare const kStreamsHandle: unique symbol;

/** What `startStreams` returns: opaque, only good for the streams* functions and `stopStreams`. */
export interface StreamsHandle {
  readonly [kStreamsHandle]: true;
}

/** The kernel's limit of file descriptors per SCM_RIGHTS message (SCM_MAX_FD). */
export const SCM_MAX_FDS = 253;

/** One message received by `recvFds`: `length` bytes in the buffer, and the descriptors it carried. */
export interface ReceivedMessage {
  /** 0 with no fds: the peer has shut down. */
  readonly length: number;
  /** Close-on-exec descriptors, new in this process and owned by the caller. */
  readonly fds: readonly number[];
}

/** What a socket is, as the kernel says (`describeSocket`). */
export interface SocketDescription {
  readonly type: 'stream' | 'dgram' | 'seqpacket' | 'raw' | 'other';
  readonly family: 'ipv4' | 'ipv6' | 'unix' | 'other';
  /** listen(2) was called on it. */
  readonly listening: boolean;
  /** SO_REUSEPORT is set: another socket may join it on the same address. */
  readonly reusePort: boolean;
  /** The local address: an IP literal, a Unix path ('@name' for an abstract one), or '' if unbound. */
  readonly address: string;
  /** The local port; -1 for a family without ports. */
  readonly port: number;
}

/** Called with 0 each time the watched fd is readable, or a negative errno (the watch has then paused). */
export type WatchCallback = (status: number) => void;

declare const kWatchHandle: unique symbol;

/** What `watchReadable` returns: opaque, only good for `unwatch`. */
export interface WatchHandle {
  readonly [kWatchHandle]: true;
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
  startUdpBatch(
    fd: number,
    slab: Uint8Array,
    meta: Int32Array,
    maxDatagram: number,
    batch: number,
    callback: UdpBatchCallback,
  ): UdpBatchHandle;
  stopUdpBatch(handle: UdpBatchHandle): void;
  resumeUdpBatch(handle: UdpBatchHandle): void;
  sendUdpBatch(fd: number, slab: Uint8Array, meta: Int32Array, count: number): number;
  /** Slab, events, out and pending must be views of SharedArrayBuffers (their memory never moves). */
  startStreams(
    slab: Uint8Array,
    events: Int32Array,
    out: Int32Array,
    pending: Int32Array,
    options: StreamsOptions,
    callback: StreamsCallback,
  ): StreamsHandle;
  /** Polls the connected, non-blocking socket `fd` (now the group's: it closes it) and returns its id. */
  streamsAdd(handle: StreamsHandle, fd: number): number;
  /** Writes the out records (one writev per stream) and sets the count to 0. */
  streamsFlush(handle: StreamsHandle): void;
  /** Flushes, then writes `bytes` (any Uint8Array) to stream `id`; what the kernel refuses is kept. */
  streamsWrite(handle: StreamsHandle, id: number, bytes: Uint8Array): void;
  /** Stops (true) or restarts (false) reading stream `id`. */
  streamsPause(handle: StreamsHandle, id: number, paused: boolean): void;
  /** Closes stream `id` now, dropping its unsent output; no event follows. */
  streamsDestroy(handle: StreamsHandle, id: number): void;
  /** Closes every stream and the group; safe to call more than once. */
  stopStreams(handle: StreamsHandle): void;
  startHeaderReader(
    mode: number,
    maxHeader: number,
    allow: Uint8Array,
    out: Int32Array,
    callback: HeaderCallback,
  ): HeaderReaderHandle;
  addHeaderFd(handle: HeaderReaderHandle, fd: number, record: Int32Array): number;
  removeHeaderFd(handle: HeaderReaderHandle, fd: number): void;
  stopHeaderReader(handle: HeaderReaderHandle): void;
  unixListen(path: string, backlog: number): number;
  unixConnect(path: string): number;
  sendFds(fd: number, data: Uint8Array, fds: readonly number[]): number;
  recvFds(fd: number, buffer: Uint8Array): ReceivedMessage | null;
  describeSocket(fd: number): SocketDescription;
  watchReadable(fd: number, callback: WatchCallback): WatchHandle;
  unwatch(handle: WatchHandle): void;
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
  startUdpBatch: true,
  stopUdpBatch: true,
  resumeUdpBatch: true,
  sendUdpBatch: true,
  startStreams: true,
  streamsAdd: true,
  streamsFlush: true,
  streamsWrite: true,
  streamsPause: true,
  streamsDestroy: true,
  stopStreams: true,
  startHeaderReader: true,
  addHeaderFd: true,
  removeHeaderFd: true,
  stopHeaderReader: true,
  unixListen: true,
  unixConnect: true,
  sendFds: true,
  recvFds: true,
  describeSocket: true,
  watchReadable: true,
  unwatch: true,
} satisfies Record<keyof NativeBinding, true>);

type Loaded = { readonly binding: NativeBinding } | { readonly error: unknown };

const require = createRequire(import.meta.url);
let loaded: Loaded | undefined;

function load(): Loaded {
  try {
    const nodeGypBuild = require('node-gyp-build') as (root: string) => unknown;
    const binding = nodeGypBuild(ADDON_ROOT);
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
    throw new NativeAddonUnavailableError(ADDON_ROOT, loaded.error);
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

/** The buffer sizes a batch of `batch` datagrams of up to `maxDatagram` bytes needs. */
export function udpBatchSizes(maxDatagram: number, batch: number): UdpBatchSizes {
  checkInteger('maxDatagram', maxDatagram, 1, UDP_MAX_DATAGRAM);
  checkInteger('batch', batch, 1, UDP_MAX_BATCH);
  const stride = Math.ceil(maxDatagram / UDP_SLOT_ALIGN) * UDP_SLOT_ALIGN;
  return { stride, slabBytes: batch * stride, metaLength: UDP_META_HEADER_WORDS + batch * DGRAM_WORDS };
}

/**
 * Polls the UDP socket `fd` in this thread's event loop and receives with recvmmsg straight into `slab`
 * (datagram i in slot i, at `i * stride`) and `meta` (one record each), up to `batch` datagrams per
 * callback. One readiness round takes at most 16 batches and then yields to the loop, so a flood on one
 * socket cannot starve the thread. The poll keeps the loop alive until `stopUdpBatch`, or until the
 * thread's environment exits, which stops it too. `fd` stays the caller's: stop before closing it.
 *
 * @example
 * ```ts
 * const { fd } = udpSocket({ host: '127.0.0.1', port: 5300 });
 * const { slabBytes, metaLength } = udpBatchSizes(1500, 64);
 * const slab = new Uint8Array(new SharedArrayBuffer(slabBytes));
 * const meta = new Int32Array(new SharedArrayBuffer(metaLength * Int32Array.BYTES_PER_ELEMENT));
 * const handle = startUdpBatch(fd, slab, meta, 1500, 64, (count) => {
 *   for (let i = 0; i < count; i++) {
 *     const record = UDP_META_HEADER_WORDS + i * DGRAM_WORDS;
 *     if (meta[record + DGRAM_FLAGS]! & DGRAM_TRUNCATED) continue; // too long: drop it
 *     const offset = meta[record + DGRAM_OFFSET]!;
 *     const datagram = slab.subarray(offset, offset + meta[record + DGRAM_LENGTH]!);
 *     // ...
 *   }
 * });
 * // later: stopUdpBatch(handle); close(fd);
 * ```
 */
export function startUdpBatch(
  fd: number,
  slab: Uint8Array,
  meta: Int32Array,
  maxDatagram: number,
  batch: number,
  callback: UdpBatchCallback,
): UdpBatchHandle {
  checkInteger('fd', fd, 0, 2 ** 31 - 1);
  const { slabBytes, metaLength } = udpBatchSizes(maxDatagram, batch);
  if (slab.length < slabBytes) {
    throw new InvalidOptionError(
      'slab',
      `must hold ${batch} slots of ${slabBytes / batch} bytes (${slabBytes})`,
    );
  }
  if (meta.length < metaLength) {
    throw new InvalidOptionError(
      'meta',
      `must hold the header and ${batch} records (${metaLength} elements)`,
    );
  }
  return loadNative().startUdpBatch(fd, slab, meta, maxDatagram, batch, callback);
}

/** Stops polling and frees the poll once libuv has closed it. Safe to call more than once, and from the callback. */
export function stopUdpBatch(handle: UdpBatchHandle): void {
  loadNative().stopUdpBatch(handle);
}

/** Polls again after the callback reported an error (a negative count); a no-op unless paused. */
export function resumeUdpBatch(handle: UdpBatchHandle): void {
  loadNative().resumeUdpBatch(handle);
}

/**
 * Sends the first `count` datagrams that `meta`'s records describe with sendmmsg, without blocking, and
 * returns how many of them it dealt with, from the first on: sent, or failed on an error of their own
 * (EMSGSIZE, EINVAL for port 0, ENETUNREACH, ...: counted in UDP_META_SEND_FAILED and _FIRST_ERRNO, the
 * batch goes on). It returns less than `count` only when the socket's buffer was full
 * (UDP_META_SEND_STOP_ERRNO is EAGAIN or ENOBUFS): the rest were not attempted, so retry or drop them.
 * Writes the send header into `meta`; allocates nothing. A record outside the slab, of another family than
 * 4 or 6 or with a port out of range throws a RangeError before anything is sent; a bad fd throws a
 * SyscallError (EBADF, ENOTSOCK).
 */
export function sendUdpBatch(fd: number, slab: Uint8Array, meta: Int32Array, count: number): number {
  return loadNative().sendUdpBatch(fd, slab, meta, count);
}

/**
 * Names an errno from the UDP batch path: a negative callback count (`udpBatchError(-12).code === 'ENOMEM'`,
 * syscall recvmmsg) or, negated, an errno from a meta header (`udpBatchError(-firstErrno, 'sendmmsg')`).
 */
export function udpBatchError(
  count: number,
  syscall: 'recvmmsg' | 'sendmmsg' = 'recvmmsg',
  context: { readonly fd?: number; readonly port?: number } = {},
): SyscallError {
  return errnoError(syscall, count, context);
}

/**
 * Starts a header reader in this thread's loop: fds added with `addHeaderFd` wait (edge-triggered, with no
 * handle of their own) for their first bytes, and `callback` gets a batch of results as they complete.
 * `HEADER_READ_PROXY` reads and consumes a PROXY protocol v1/v2 header of at most `maxHeader` bytes from a
 * source in `allow` (ALLOW_ENTRY_BYTES per entry; see `allowEntries`), leaving every later byte in the
 * kernel; `HEADER_PEEK_CLIENT_HELLO` peeks a TLS ClientHello without consuming anything and reports the
 * key name of the session ticket it offers. Deadlines are the caller's: `removeHeaderFd`, then close.
 *
 * @example
 * ```ts
 * const out = new Int32Array(16 * HEADER_WORDS);
 * const reader = startHeaderReader(HEADER_READ_PROXY, 232, allowEntries(['10.0.0.0/8']), out, (count) => {
 *   for (let i = 0; i < count; i++) {
 *     const record = i * HEADER_WORDS;
 *     const fd = out[record + HEADER_FD]!;
 *     if (out[record + HEADER_STATUS] !== HEADER_OK) close(fd);
 *     else new net.Socket({ fd, readable: true, writable: true }); // the client's bytes follow
 *   }
 * });
 * const now = new Int32Array(HEADER_WORDS);
 * const status = addHeaderFd(reader, acceptedFd, now); // HEADER_PENDING: the callback will have it
 * if (status !== HEADER_PENDING && status !== HEADER_OK) close(acceptedFd);
 * // later: stopHeaderReader(reader)
 * ```
 */
export function startHeaderReader(
  mode: typeof HEADER_READ_PROXY | typeof HEADER_PEEK_CLIENT_HELLO,
  maxHeader: number,
  allow: Uint8Array,
  out: Int32Array,
  callback: HeaderCallback,
): HeaderReaderHandle {
  checkInteger('maxHeader', maxHeader, HEADER_MIN_PROXY, HEADER_MAX_PROXY);
  if (out.length < HEADER_WORDS) {
    throw new InvalidOptionError('out', `must hold at least one record (${HEADER_WORDS} elements)`);
  }
  return loadNative().startHeaderReader(mode, maxHeader, allow, out, callback);
}

/**
 * Adds an accepted fd to the reader. What it has already queued is examined first: if that settles it (a
 * whole header, a ClientHello, a failure; and for a PROXY reader HEADER_REFUSED, a source outside the
 * allowlist, or HEADER_CLOSED, a peer already gone), the result is written to `record` (one record,
 * HEADER_WORDS words, as the callback's) and its status returned, and the fd is not added. Otherwise it
 * returns HEADER_PENDING and the result will come through the callback.
 */
export function addHeaderFd(handle: HeaderReaderHandle, fd: number, record: Int32Array): number {
  return loadNative().addHeaderFd(handle, fd, record);
}

/** Stops waiting for `fd` (its deadline passed); the fd stays open and is the caller's to close. */
export function removeHeaderFd(handle: HeaderReaderHandle, fd: number): void {
  loadNative().removeHeaderFd(handle, fd);
}

/** Stops the reader and closes its epoll fd once libuv lets go of it; fds still waiting are the caller's. */
export function stopHeaderReader(handle: HeaderReaderHandle): void {
  loadNative().stopHeaderReader(handle);
}

/**
 * An allowlist for a PROXY header reader: IP literals and CIDR blocks (`10.0.0.0/8`, `::1`, `fd00::/8`).
 * IPv4-mapped IPv6 peers are matched as IPv4. Throws InvalidOptionError (naming `option`) on a bad entry.
 */
export function allowEntries(cidrs: readonly string[], option = 'allow'): Uint8Array {
  const bytes = new Uint8Array(cidrs.length * ALLOW_ENTRY_BYTES);
  const view = new DataView(bytes.buffer);
  cidrs.forEach((cidr, i) => {
    const block = typeof cidr === 'string' ? parseIpBlock(cidr) : undefined;
    if (block === undefined) {
      throw new InvalidOptionError(
        `${option}[${i}]`,
        `must be an IP address or a CIDR block (10.0.0.0/8, fd00::/8), got ${JSON.stringify(cidr)}`,
      );
    }
    const entry = i * ALLOW_ENTRY_BYTES;
    bytes[entry] = block.family;
    bytes[entry + 1] = block.prefix;
    for (const [w, word] of block.words.entries())
      view.setUint32(entry + ALLOW_WORDS_OFFSET + w * 4, word >>> 0);
  });
  return bytes;
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

/**
 * Binds and listens on a Unix SOCK_SEQPACKET socket at `path` (non-blocking, close-on-exec): each message
 * sent on a connection arrives whole, with the descriptors attached to it. The socket file stays after
 * close: unlink it when done. Throws a SyscallError (EADDRINUSE if the path exists, ENAMETOOLONG past 107
 * bytes).
 */
export function unixListen(path: string, backlog = 16): number {
  checkInteger('backlog', backlog, 1, 2 ** 31 - 1);
  return loadNative().unixListen(path, backlog);
}

/**
 * Connects to the Unix SOCK_SEQPACKET socket at `path` (non-blocking, close-on-exec). A Unix connect does
 * not wait for the peer: it succeeds at once, or throws ENOENT / ECONNREFUSED (nobody listens there) or
 * EAGAIN (the listener's backlog is full).
 */
export function unixConnect(path: string): number {
  return loadNative().unixConnect(path);
}

/**
 * Sends one message of `data` (at least one byte) with `fds` attached (SCM_RIGHTS, at most SCM_MAX_FDS),
 * without blocking: the peer receives descriptors of its own for the same open files, and the caller's
 * stay open and its own. Returns the bytes sent; throws EAGAIN when the socket's buffer is full, EPIPE when
 * the peer has gone.
 *
 * @example
 * ```ts
 * const server = unixListen('/run/app/handover.sock');
 * const client = unixConnect('/run/app/handover.sock');
 * // ... on the accepted side (startAccepting on `server` gives its fd):
 * sendFds(accepted, new TextEncoder().encode('{"port":8080}'), [listeningFd]);
 * // on `client`, once watchReadable says so:
 * const message = recvFds(client, new Uint8Array(4096)); // { length, fds: [the listening socket] }
 * ```
 */
export function sendFds(fd: number, data: Uint8Array, fds: readonly number[] = []): number {
  if (fds.length > SCM_MAX_FDS) {
    throw new InvalidOptionError('fds', `at most ${SCM_MAX_FDS} per message, got ${fds.length}`);
  }
  return loadNative().sendFds(fd, data, fds);
}

/**
 * Receives one message into `buffer` without blocking: null when none is waiting. A message that does not
 * fit (bytes or descriptors) is refused whole with EMSGSIZE and its descriptors closed.
 */
export function recvFds(fd: number, buffer: Uint8Array): ReceivedMessage | null {
  return loadNative().recvFds(fd, buffer);
}

/** What the socket `fd` is: type, family, whether it listens, and its local address (getsockname). */
export function describeSocket(fd: number): SocketDescription {
  return loadNative().describeSocket(fd);
}

/**
 * Calls `callback(0)` each time `fd` is readable (level-triggered: read until it would block, or it is
 * called again on the next turn of the loop), in this thread's loop, which it keeps alive until `unwatch`.
 * `fd` stays the caller's: unwatch before closing it.
 */
export function watchReadable(fd: number, callback: WatchCallback): WatchHandle {
  checkInteger('fd', fd, 0, 2 ** 31 - 1);
  return loadNative().watchReadable(fd, callback);
}

/** Stops a watch; safe to call more than once, and from its callback. */
export function unwatch(handle: WatchHandle): void {
  loadNative().unwatch(handle);
}

/** Names the errno of a negative accept count: `acceptError(-24).code === 'EMFILE'`. */
export function acceptError(count: number, context: { readonly fd?: number } = {}): SyscallError {
  return errnoError('accept4', count, context);
}

function errnoError(syscall: string, errno: number, context: SyscallErrorContext): SyscallError {
  const [code, description] = getSystemErrorMap().get(errno) ?? [
    `Unknown system error ${errno}`,
    'unknown error',
  ];
  return new SyscallError(syscall, errno, code, description, context);
}

function checkBindOptions(options: BindOptions): void {
  checkIpLiteral('host', options.host, false);
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
