/**
 * A UDP socket served in batches (`io: 'batched'`) by the shard that owns it: recvmmsg lands up to
 * `batch` datagrams straight in a receive slab, the handler sees each one as a zero-copy view, and the
 * replies it queues are sent with one sendmmsg at the end of the batch.
 *
 * Threading contract: one thread, the one that constructs the socket. The poll runs in that thread's event
 * loop and every method must be called from it. The slabs are SharedArrayBuffers so that later they can be
 * lent to other threads without a copy; today no other thread touches them.
 *
 * Memory (record layout: DGRAM_* in src/native/binding.ts):
 *   receive slab   `batch` slots of `stride` bytes (maxDatagram rounded up to 8); the addon writes
 *                  datagram i of a batch into slot i
 *   receive meta   header + `batch` records, written by the addon; its header counts peer errors
 *   send slab      queued datagrams packed back to back in queue order, from byte 0
 *   send meta      header + one record per queued datagram, written here, read by sendmmsg
 *
 * @example
 * ```ts
 * const { fd } = udpSocket({ host: '0.0.0.0', port: 5300, reusePort: true });
 * const socket = new UdpBatchedSocket(fd, (data, peer, socket) => socket.reply(peer, data)); // echo
 * // later: socket.close(); close(fd);
 * ```
 */
import { constants } from 'node:os';
import { InvalidOptionError, type SyscallError } from '../errors.js';
import type { UdpPeer } from '../handler.js';
import { formatIp, formatIpv4, formatIpv6, type Ipv6Words, parseIp } from '../ip-address.js';
import {
  DGRAM_ADDRESS,
  DGRAM_FAMILY,
  DGRAM_FLAGS,
  DGRAM_LENGTH,
  DGRAM_OFFSET,
  DGRAM_PORT,
  DGRAM_TRUNCATED,
  DGRAM_WORDS,
  FAMILY_IPV4,
  FAMILY_IPV6,
  localPort,
  resumeUdpBatch,
  sendUdpBatch,
  startUdpBatch,
  stopUdpBatch,
  UDP_MAX_DATAGRAM,
  UDP_META_HEADER_WORDS,
  UDP_META_RECV_ICMP_ERRORS,
  UDP_META_SEND_FAILED,
  UDP_META_SEND_FIRST_ERRNO,
  UDP_META_SEND_ICMP_ERRORS,
  UDP_META_SEND_SENT,
  UDP_META_SEND_SENT_BYTES,
  type UdpBatchHandle,
  udpBatchError,
  udpBatchSizes,
} from '../native/binding.js';
import { checkInteger } from '../validate.js';

/**
 * Called once per datagram. `data` is a view of the receive slab, valid only during the call (the next
 * batch overwrites it): copy what must outlive it. `socket.reply(peer, bytes)` queues an answer. A throw
 * does not lose the rest of the batch: the batch is finished and flushed first, then the first error is
 * rethrown as an uncaught exception of this thread, as from a dgram 'message' listener.
 */
export type DatagramHandler = (data: Uint8Array, peer: UdpPeer, socket: UdpBatchedSocket) => void;

/** The native sendmmsg's signature (`sendUdpBatch`), replaceable for fault injection. */
export type SendBatch = (fd: number, slab: Uint8Array, meta: Int32Array, count: number) => number;

export interface UdpBatchedSocketOptions {
  /** The longest datagram delivered; longer ones are dropped and counted in `oversized`. Default 2048. */
  readonly maxDatagram?: number;
  /** Datagrams per recvmmsg, and so per handler batch (1-1024). Default 64. */
  readonly batch?: number;
  /** Send slab size: bytes that may wait for the next flush. Default: `batch` full slots, at least 65527. */
  readonly sendSlabBytes?: number;
  /** Datagrams that may wait for the next flush (1-65536). Default: `batch`. */
  readonly sendQueue?: number;
  /**
   * Receive errors, after which receiving is paused: ENOMEM and ENOBUFS resume by themselves after 100 ms;
   * anything else (EBADF, EFAULT) stays paused. Without this option the others are thrown as an uncaught
   * exception of this thread.
   */
  readonly onError?: (error: SyscallError, socket: UdpBatchedSocket) => void;
  /** Replaces the native sendmmsg: for tests that need EAGAIN, which loopback never returns. */
  readonly sendBatch?: SendBatch;
  /** Called after every receive batch and every flush: the moment to publish the counters elsewhere. */
  readonly onCounters?: (socket: UdpBatchedSocket) => void;
}

const DEFAULT_MAX_DATAGRAM = 2048;
const DEFAULT_BATCH = 64;
const MAX_SEND_QUEUE = 65_536;
const MAX_PORT = 65_535;
/** Address strings and peers kept for reuse; past this the cache starts over (a scan of many peers). */
const PEER_CACHE_SIZE = 1024;
/** Parsed destinations of `send(port, address, ...)` kept for reuse. */
const TARGET_CACHE_SIZE = 256;
/** Back-off before receiving again after ENOMEM or ENOBUFS. */
const RESUME_DELAY_MS = 100;
const RESUMABLE = new Set(['ENOMEM', 'ENOBUFS']);
const { EMSGSIZE } = constants.errno;

/**
 * A peer as this module makes them: the address also as the record's words, so a reply writes them back
 * without parsing the string. Immutable, so one object may be handed out for many datagrams.
 */
class Peer implements UdpPeer {
  readonly address: string;
  readonly port: number;
  readonly family: 4 | 6;
  readonly #words: Ipv6Words;

  constructor(address: string, port: number, family: 4 | 6, words: Ipv6Words) {
    this.address = address;
    this.port = port;
    this.family = family;
    this.#words = words;
  }

  /** The same address at another port. */
  withPort(port: number): Peer {
    return new Peer(this.address, port, this.family, this.#words);
  }

  sameAddress(meta: Int32Array, address: number): boolean {
    const words = this.#words;
    return (
      meta[address] === words[0] &&
      meta[address + 1] === words[1] &&
      meta[address + 2] === words[2] &&
      meta[address + 3] === words[3]
    );
  }

  static writeAddress(peer: Peer, meta: Int32Array, address: number): void {
    const words = peer.#words;
    meta[address] = words[0];
    meta[address + 1] = words[1];
    meta[address + 2] = words[2];
    meta[address + 3] = words[3];
  }
}

/**
 * Serves one UDP socket fd that the calling (shard) thread owns, in batches; see the module comment.
 * Starts receiving at construction. The counters are plain numbers, read them at any time.
 */
export class UdpBatchedSocket {
  readonly fd: number;
  /** The local port the socket is bound to. */
  readonly localPort: number;

  /** Datagrams delivered to the handler, and their bytes. */
  datagramsIn = 0;
  bytesIn = 0;
  /** Datagrams the kernel took for sending, and their bytes. */
  datagramsOut = 0;
  bytesOut = 0;
  /** Datagrams longer than maxDatagram: dropped, never delivered cut. */
  oversized = 0;
  /** Datagrams that failed to send on an error of their own (EMSGSIZE, EINVAL, ENETUNREACH, ...). */
  sendErrors = 0;
  /** The errno (positive) of the first failure in the latest flush that had any, 0 if none ever failed. */
  lastSendErrno = 0;
  /** Datagrams dropped before the kernel took them: buffer full twice (EAGAIN), queue full, or closed. */
  sendDropped = 0;
  /** Receive errors that paused receiving (see `onError`). */
  recvErrors = 0;

  readonly #onDatagram: DatagramHandler;
  readonly #onCounters: UdpBatchedSocketOptions['onCounters'];
  readonly #onError: UdpBatchedSocketOptions['onError'];
  readonly #sendBatch: SendBatch;
  readonly #recvSlab: Uint8Array;
  readonly #recvMeta: Int32Array;
  readonly #sendSlab: Uint8Array;
  readonly #sendMeta: Int32Array;
  readonly #sendQueue: number;
  readonly #handle: UdpBatchHandle;
  /** Peers by IPv4 address word, the last port seen from each: a flood from one peer allocates nothing. */
  readonly #v4Peers = new Map<number, Peer>();
  #lastV6: Peer | undefined;
  readonly #targets = new Map<string, Peer>();
  #sendIcmpErrors = 0;

  /** Datagrams queued in the send meta, and the bytes they use in the send slab. */
  #queued = 0;
  #queuedBytes = 0;
  /** The first this many queued datagrams already met a full buffer once: the next one drops them. */
  #deferred = 0;
  #inBatch = false;
  #closed = false;
  #paused = false;
  #flushImmediate: NodeJS.Immediate | undefined;
  #resumeTimer: NodeJS.Timeout | undefined;

  constructor(fd: number, onDatagram: DatagramHandler, options: UdpBatchedSocketOptions = {}) {
    const maxDatagram = options.maxDatagram ?? DEFAULT_MAX_DATAGRAM;
    const batch = options.batch ?? DEFAULT_BATCH;
    const sizes = udpBatchSizes(maxDatagram, batch);
    const sendSlabBytes = options.sendSlabBytes ?? Math.max(sizes.slabBytes, UDP_MAX_DATAGRAM);
    const sendQueue = options.sendQueue ?? batch;
    checkInteger('sendSlabBytes', sendSlabBytes, 1, 2 ** 30);
    checkInteger('sendQueue', sendQueue, 1, MAX_SEND_QUEUE);
    this.fd = fd;
    this.localPort = localPort(fd);
    this.#onDatagram = onDatagram;
    this.#onError = options.onError;
    this.#onCounters = options.onCounters;
    this.#sendBatch = options.sendBatch ?? sendUdpBatch;
    this.#recvSlab = new Uint8Array(new SharedArrayBuffer(sizes.slabBytes));
    this.#recvMeta = int32Shared(sizes.metaLength);
    this.#sendSlab = new Uint8Array(new SharedArrayBuffer(sendSlabBytes));
    this.#sendMeta = int32Shared(UDP_META_HEADER_WORDS + sendQueue * DGRAM_WORDS);
    this.#sendQueue = sendQueue;
    this.#handle = startUdpBatch(fd, this.#recvSlab, this.#recvMeta, maxDatagram, batch, this.#onBatch);
  }

  /** Peer errors (ICMP port/host unreachable about an earlier datagram) that were counted and skipped. */
  get icmpErrors(): number {
    return (this.#recvMeta[UDP_META_RECV_ICMP_ERRORS]! >>> 0) + this.#sendIcmpErrors;
  }

  /** Whether receiving is paused after an error (see `onError`). */
  get paused(): boolean {
    return this.#paused;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Queues `bytes` (copied) to `peer`; sent at the end of the batch, on `flush()`, or on the next turn. */
  reply(peer: UdpPeer, bytes: Uint8Array): void {
    const target = peer instanceof Peer ? peer : this.#target(peer.address).withPort(peer.port);
    this.#enqueue(target, target.port, bytes);
  }

  /** Queues `bytes` (copied) to `port` at `address` (an IP literal); sent as `reply` sends. */
  send(port: number, address: string, bytes: Uint8Array): void {
    checkInteger('port', port, 0, MAX_PORT);
    this.#enqueue(this.#target(address), port, bytes);
  }

  /** Sends what is queued now, with one sendmmsg. */
  flush(): void {
    this.#flush();
  }

  /**
   * Stops receiving and sends what is queued, once (what a full buffer refuses is dropped and counted).
   * The fd stays the caller's to close. Idempotent; safe from inside the handler, where it ends the batch.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearImmediate(this.#flushImmediate);
    clearTimeout(this.#resumeTimer);
    stopUdpBatch(this.#handle);
    try {
      this.#flush();
    } finally {
      this.sendDropped += this.#queued;
      this.#queued = this.#queuedBytes = this.#deferred = 0;
    }
  }

  readonly #onBatch = (count: number): void => {
    if (count < 0) {
      this.#onReceiveError(count);
      return;
    }
    const meta = this.#recvMeta;
    const slab = this.#recvSlab;
    let thrown: { readonly error: unknown } | undefined;
    this.#inBatch = true;
    for (let i = 0; i < count && !this.#closed; i++) {
      const record = UDP_META_HEADER_WORDS + i * DGRAM_WORDS;
      if ((meta[record + DGRAM_FLAGS]! & DGRAM_TRUNCATED) !== 0) {
        this.oversized++;
        continue;
      }
      const peer = this.#peer(meta, record);
      if (peer === undefined) {
        this.recvErrors++;
        continue;
      }
      const offset = meta[record + DGRAM_OFFSET]!;
      const length = meta[record + DGRAM_LENGTH]!;
      this.datagramsIn++;
      this.bytesIn += length;
      try {
        this.#onDatagram(slab.subarray(offset, offset + length), peer, this);
      } catch (error) {
        thrown ??= { error };
      }
    }
    this.#inBatch = false;
    // Published before the replies leave too, so that a peer that got its answer finds it counted.
    this.#onCounters?.(this);
    this.#flush();
    this.#onCounters?.(this);
    if (thrown !== undefined) throw thrown.error;
  };

  #peer(meta: Int32Array, record: number): Peer | undefined {
    const family = meta[record + DGRAM_FAMILY];
    const port = meta[record + DGRAM_PORT]!;
    const address = record + DGRAM_ADDRESS;
    if (family === FAMILY_IPV4) {
      const word = meta[address]!;
      const cached = this.#v4Peers.get(word);
      if (cached?.port === port) return cached;
      if (cached === undefined && this.#v4Peers.size >= PEER_CACHE_SIZE) this.#v4Peers.clear();
      const peer = cached?.withPort(port) ?? new Peer(formatIpv4(word), port, FAMILY_IPV4, [word, 0, 0, 0]);
      this.#v4Peers.set(word, peer);
      return peer;
    }
    if (family === FAMILY_IPV6) {
      const last = this.#lastV6;
      if (last?.sameAddress(meta, address) === true) {
        if (last.port !== port) this.#lastV6 = last.withPort(port);
        return this.#lastV6;
      }
      const words = [meta[address]!, meta[address + 1]!, meta[address + 2]!, meta[address + 3]!] as const;
      this.#lastV6 = new Peer(formatIpv6(words), port, FAMILY_IPV6, words);
      return this.#lastV6;
    }
    return undefined;
  }

  /** A destination parsed once per address string. */
  #target(address: string): Peer {
    const cached = this.#targets.get(address);
    if (cached !== undefined) return cached;
    const target = parseTarget(address);
    if (this.#targets.size >= TARGET_CACHE_SIZE) this.#targets.clear();
    this.#targets.set(address, target);
    return target;
  }

  #enqueue(target: Peer, port: number, bytes: Uint8Array): void {
    if (this.#closed) {
      this.sendDropped++;
      return;
    }
    const length = bytes.length;
    if (length > this.#sendSlab.length) {
      // Longer than the kernel would take anyway with the default slab; say what it would say.
      this.sendErrors++;
      this.lastSendErrno = EMSGSIZE;
      return;
    }
    if (this.#queued === this.#sendQueue || this.#queuedBytes + length > this.#sendSlab.length) {
      this.#flush();
      // Still full: the datagrams that met a full buffer wait for their one retry; tail-drop this one.
      if (this.#queued === this.#sendQueue || this.#queuedBytes + length > this.#sendSlab.length) {
        this.sendDropped++;
        return;
      }
    }
    const meta = this.#sendMeta;
    const record = UDP_META_HEADER_WORDS + this.#queued * DGRAM_WORDS;
    meta[record + DGRAM_OFFSET] = this.#queuedBytes;
    meta[record + DGRAM_LENGTH] = length;
    meta[record + DGRAM_FLAGS] = 0;
    meta[record + DGRAM_FAMILY] = target.family;
    meta[record + DGRAM_PORT] = port;
    Peer.writeAddress(target, meta, record + DGRAM_ADDRESS);
    this.#sendSlab.set(bytes, this.#queuedBytes);
    this.#queued++;
    this.#queuedBytes += length;
    // Inside a batch the batch's end flushes; outside one, the next loop turn does.
    if (!this.#inBatch) this.#scheduleFlush();
  }

  #scheduleFlush(): void {
    this.#flushImmediate ??= setImmediate(this.#onFlushImmediate);
  }

  readonly #onFlushImmediate = (): void => {
    this.#flushImmediate = undefined;
    this.#flush();
    this.#onCounters?.(this);
  };

  #flush(): void {
    const queued = this.#queued;
    if (queued === 0) return;
    const meta = this.#sendMeta;
    let done: number;
    try {
      done = this.#sendBatch(this.fd, this.#sendSlab, meta, queued);
    } catch (error) {
      // EBADF, ENOTSOCK: nothing queued can ever go out.
      this.sendErrors += queued;
      this.#queued = this.#queuedBytes = this.#deferred = 0;
      throw error;
    }
    this.datagramsOut += meta[UDP_META_SEND_SENT]!;
    this.bytesOut += meta[UDP_META_SEND_SENT_BYTES]! >>> 0;
    const failed = meta[UDP_META_SEND_FAILED]!;
    if (failed > 0) {
      this.sendErrors += failed;
      this.lastSendErrno = meta[UDP_META_SEND_FIRST_ERRNO]!;
    }
    this.#sendIcmpErrors += meta[UDP_META_SEND_ICMP_ERRORS]!;
    if (done === queued) {
      this.#queued = this.#queuedBytes = this.#deferred = 0;
      return;
    }
    // A full buffer (EAGAIN) stopped it at `done`. Whatever had already met one is dropped; the rest (all
    // of them have now met one) get a single retry on the next turn, when the kernel may have drained.
    const keep = Math.max(done, this.#deferred);
    this.sendDropped += keep - done;
    this.#compact(keep);
    this.#deferred = this.#queued;
    this.#scheduleFlush();
  }

  /** Moves queued datagrams [from, queued) to the front of the send slab and meta. */
  #compact(from: number): void {
    const meta = this.#sendMeta;
    const slab = this.#sendSlab;
    const remaining = this.#queued - from;
    if (remaining === 0) {
      this.#queued = this.#queuedBytes = 0;
      return;
    }
    const base = meta[UDP_META_HEADER_WORDS + from * DGRAM_WORDS + DGRAM_OFFSET]!;
    slab.copyWithin(0, base, this.#queuedBytes);
    meta.copyWithin(
      UDP_META_HEADER_WORDS,
      UDP_META_HEADER_WORDS + from * DGRAM_WORDS,
      UDP_META_HEADER_WORDS + this.#queued * DGRAM_WORDS,
    );
    for (let i = 0; i < remaining; i++) meta[UDP_META_HEADER_WORDS + i * DGRAM_WORDS + DGRAM_OFFSET]! -= base;
    this.#queued = remaining;
    this.#queuedBytes -= base;
  }

  #onReceiveError(count: number): void {
    this.recvErrors++;
    this.#paused = true;
    const error = udpBatchError(count, 'recvmmsg', { fd: this.fd, port: this.localPort });
    const resumable = RESUMABLE.has(error.code);
    if (resumable) {
      this.#resumeTimer = setTimeout(() => {
        this.#resumeTimer = undefined;
        if (this.#closed) return;
        this.#paused = false;
        resumeUdpBatch(this.#handle);
      }, RESUME_DELAY_MS);
    }
    if (this.#onError !== undefined) this.#onError(error, this);
    else if (!resumable) throw error;
  }
}

function int32Shared(length: number): Int32Array {
  return new Int32Array(new SharedArrayBuffer(length * Int32Array.BYTES_PER_ELEMENT));
}

/** A destination given as text, parsed into a port-0 peer: an IPv4 or IPv6 literal, no zone id, no name. */
function parseTarget(address: string): Peer {
  const parsed = parseIp(address);
  if (parsed === undefined) {
    throw new InvalidOptionError(
      'address',
      `must be an IPv4 or IPv6 address literal, got ${JSON.stringify(address)}`,
    );
  }
  return new Peer(formatIp(parsed), 0, parsed.family, parsed.words);
}
