import type { IpAddress } from '../ip-address.js';
import {
  addHeaderFd,
  close,
  HEADER_ADDRESS,
  HEADER_CLOSED,
  HEADER_FAMILY,
  HEADER_FD,
  HEADER_HASH,
  HEADER_LOCAL,
  HEADER_MALFORMED,
  HEADER_MISSING,
  HEADER_OK,
  HEADER_OVERSIZED,
  HEADER_PENDING,
  HEADER_PORT,
  HEADER_READ_PROXY,
  HEADER_REFUSED,
  HEADER_STATUS,
  HEADER_WORDS,
  type HeaderReaderHandle,
  removeHeaderFd,
  startHeaderReader,
  stopHeaderReader,
} from '../native/binding.js';
import type { ProxyStats } from './engine-stats.js';
import type { ResolvedProxyProtocol } from './proxy-options.js';

/** Headers per native callback. */
const BATCH = 64;

/** Where a connection whose header was read goes next (the acceptor's limits, balancer and handoff). */
export interface ProxiedConnection {
  readonly fd: number;
  /** The client's address hash (the balancer's `hash` and the per-address cap use it). */
  readonly hash: number;
  readonly address: IpAddress;
  readonly port: number;
}

/**
 * The PROXY protocol headers of one listener, read in the coordinator before the handoff (native header
 * reader: one epoll set, nothing per connection but a deadline here). Accepted fds wait here until their
 * header is in; then the acceptor balances them by the client's address. Everything that is not a good
 * header from an allowed balancer closes the connection and is counted. Coordinator thread only.
 */
export class ProxyHeaders {
  #read = 0;
  #refused = 0;
  #missing = 0;
  #malformed = 0;
  #oversized = 0;
  #truncated = 0;
  #timedOut = 0;
  readonly #config: ResolvedProxyProtocol;
  readonly #out = new Int32Array(BATCH * HEADER_WORDS);
  /** The result of a header that was queued when its fd was added (addHeaderFd reads it at once). */
  readonly #now = new Int32Array(HEADER_WORDS);
  readonly #reader: HeaderReaderHandle;
  /** Waiting fds and their deadlines, oldest first (one timeout for all, so insertion order is deadline order). */
  readonly #deadlines = new Map<number, number>();
  readonly #onHeader: (connection: ProxiedConnection) => void;
  readonly #onBatchDone: () => void;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    config: ResolvedProxyProtocol,
    onHeader: (connection: ProxiedConnection) => void,
    onBatchDone: () => void,
  ) {
    this.#config = config;
    this.#onHeader = onHeader;
    this.#onBatchDone = onBatchDone;
    this.#reader = startHeaderReader(
      HEADER_READ_PROXY,
      config.maxHeaderBytes,
      config.allow,
      this.#out,
      this.#onResults,
    );
  }

  /**
   * An accepted connection: refused at once if its source is not allowed; its header read at once if it
   * is queued already (the caller flushes the handoffs after its batch); else it waits for its header.
   */
  add(fd: number): void {
    if (addHeaderFd(this.#reader, fd, this.#now) !== HEADER_PENDING) {
      this.#result(this.#now, 0);
      return;
    }
    this.#deadlines.set(fd, performance.now() + this.#config.timeoutMs);
    this.#timer ??= setTimeout(this.#expire, this.#config.timeoutMs);
  }

  readonly #onResults = (count: number): void => {
    for (let i = 0; i < count; i++) {
      const record = i * HEADER_WORDS;
      this.#deadlines.delete(this.#out[record + HEADER_FD]!);
      this.#result(this.#out, record);
    }
    this.#onBatchDone();
  };

  /** A header read (the connection goes on to the balancer), or a connection closed and counted. */
  #result(out: Int32Array, record: number): void {
    const fd = out[record + HEADER_FD]!;
    const status = out[record + HEADER_STATUS];
    if (status === HEADER_OK || status === HEADER_LOCAL) {
      this.#read++;
      const words = record + HEADER_ADDRESS;
      this.#onHeader({
        fd,
        hash: out[record + HEADER_HASH]!,
        address: {
          family: out[record + HEADER_FAMILY] === 6 ? 6 : 4,
          words: [out[words]!, out[words + 1]!, out[words + 2]!, out[words + 3]!],
        },
        port: out[record + HEADER_PORT]!,
      });
      return;
    }
    close(fd);
    if (status === HEADER_REFUSED) this.#refused++;
    else if (status === HEADER_MISSING) this.#missing++;
    else if (status === HEADER_MALFORMED) this.#malformed++;
    else if (status === HEADER_OVERSIZED) this.#oversized++;
    else if (status === HEADER_CLOSED) this.#truncated++;
  }

  /** Closes the connections whose header is late; wakes again for the next deadline. */
  readonly #expire = (): void => {
    this.#timer = undefined;
    const now = performance.now();
    for (const [fd, deadline] of this.#deadlines) {
      if (deadline > now) {
        this.#timer = setTimeout(this.#expire, deadline - now);
        return;
      }
      this.#deadlines.delete(fd);
      removeHeaderFd(this.#reader, fd);
      close(fd);
      this.#timedOut++;
    }
  };

  stats(): ProxyStats {
    return {
      read: this.#read,
      refused: this.#refused,
      missing: this.#missing,
      malformed: this.#malformed,
      oversized: this.#oversized,
      truncated: this.#truncated,
      timedOut: this.#timedOut,
    };
  }

  /** Stops reading and closes the connections still waiting for their header. */
  close(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    stopHeaderReader(this.#reader);
    for (const fd of this.#deadlines.keys()) close(fd);
    this.#deadlines.clear();
  }
}
