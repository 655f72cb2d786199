import type net from 'node:net';
import {
  addHeaderFd,
  HEADER_ADDRESS,
  HEADER_FD,
  HEADER_PEEK_CLIENT_HELLO,
  HEADER_PENDING,
  HEADER_STATUS,
  HEADER_TICKET,
  HEADER_WORDS,
  type HeaderReaderHandle,
  removeHeaderFd,
  startHeaderReader,
  stopHeaderReader,
} from '../native/binding.js';
import type { KeyName } from './ticket-keys-view.js';

/** Results per native callback. */
const BATCH = 64;
/** The reader's `maxHeader` is a PROXY setting; a ClientHello peek reads up to a TLS record regardless. */
const UNUSED_MAX_HEADER = 107;

/** `offered`: the ClientHello offers a ticket made by the keys named in the peek. */
type Peeked = (offered: boolean) => void;

interface Waiting {
  readonly socket: net.Socket;
  readonly name: KeyName;
  readonly done: Peeked;
  readonly deadline: number;
}

/** The fd under a net.Socket (TCPWrap's, on Linux), or -1. */
export function socketFd(socket: net.Socket): number {
  const handle = (socket as unknown as { _handle?: { fd?: number } })._handle;
  return typeof handle?.fd === 'number' ? handle.fd : -1;
}

/** Whether the record at `record` offers a ticket of the keys named `name` (raw bytes, compared as words). */
function offers(out: Int32Array, record: number, name: KeyName): boolean {
  if (out[record + HEADER_STATUS] !== HEADER_TICKET) return false;
  const at = record + HEADER_ADDRESS;
  return out[at] === name[0] && out[at + 1] === name[1] && out[at + 2] === name[2] && out[at + 3] === name[3];
}

/**
 * A shard's ClientHello peeks (one native header reader for all its TLS listeners): whether the session
 * ticket a new connection offers was made by given keys, read with MSG_PEEK before TLS sees a byte. The
 * socket must not be reading yet (adopted with `manualStart`, or paused on connect): TLS reads it after.
 *
 * Usually the ClientHello is queued by the time the shard adopts the connection, and the answer comes at
 * once, from `addHeaderFd`. Otherwise the fd waits in the reader's epoll set until it comes, or until its
 * deadline: one timer for all waiting peeks, armed for the earliest.
 */
export class ClientHelloPeek {
  readonly #out = new Int32Array(BATCH * HEADER_WORDS);
  readonly #now = new Int32Array(HEADER_WORDS);
  readonly #waiting = new Map<number, Waiting>();
  #reader: HeaderReaderHandle | undefined;
  #timer: NodeJS.Timeout | undefined;
  #timerDeadline = Number.POSITIVE_INFINITY;

  /**
   * Calls `done(true)` if the ClientHello offers a ticket of the keys named `name`; `done(false)` for
   * another ticket, none, bytes that are no ClientHello, a peer that closed, or nothing within `timeoutMs`
   * (TLS then sees to the connection itself). `done` may run before `peek` returns.
   */
  peek(socket: net.Socket, timeoutMs: number, name: KeyName, done: Peeked): void {
    const fd = socketFd(socket);
    if (fd < 0) {
      done(false);
      return;
    }
    this.#reader ??= startHeaderReader(
      HEADER_PEEK_CLIENT_HELLO,
      UNUSED_MAX_HEADER,
      new Uint8Array(0),
      this.#out,
      this.#onResults,
    );
    if (addHeaderFd(this.#reader, fd, this.#now) !== HEADER_PENDING) {
      done(offers(this.#now, 0, name));
      return;
    }
    const deadline = performance.now() + timeoutMs;
    this.#waiting.set(fd, { socket, name, done, deadline });
    if (deadline < this.#timerDeadline) this.#arm(deadline);
    // Destroyed meanwhile (a drain): its fd closes, which takes it out of the epoll set; forget it too.
    socket.once('close', () => this.#forget(fd, socket));
  }

  readonly #onResults = (count: number): void => {
    for (let i = 0; i < count; i++) {
      const record = i * HEADER_WORDS;
      const waiting = this.#waiting.get(this.#out[record + HEADER_FD]!);
      if (waiting === undefined) continue;
      this.#waiting.delete(this.#out[record + HEADER_FD]!);
      waiting.done(offers(this.#out, record, waiting.name));
    }
  };

  #arm(deadline: number): void {
    clearTimeout(this.#timer);
    this.#timerDeadline = deadline;
    this.#timer = setTimeout(this.#expire, Math.max(0, deadline - performance.now()));
  }

  /** Gives up on the peeks past their deadline (TLS reads their sockets) and arms for the next. */
  readonly #expire = (): void => {
    this.#timer = undefined;
    this.#timerDeadline = Number.POSITIVE_INFINITY;
    const now = performance.now();
    let next = Number.POSITIVE_INFINITY;
    for (const [fd, waiting] of this.#waiting) {
      if (waiting.deadline > now) {
        next = Math.min(next, waiting.deadline);
        continue;
      }
      this.#waiting.delete(fd);
      if (this.#reader !== undefined) removeHeaderFd(this.#reader, fd);
      waiting.done(false);
    }
    if (next !== Number.POSITIVE_INFINITY) this.#arm(next);
  };

  #forget(fd: number, socket: net.Socket): void {
    if (this.#waiting.get(fd)?.socket === socket) this.#waiting.delete(fd);
  }

  close(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#waiting.clear();
    if (this.#reader !== undefined) stopHeaderReader(this.#reader);
    this.#reader = undefined;
  }
}
