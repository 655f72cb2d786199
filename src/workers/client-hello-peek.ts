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
import { TICKET_KEY_NAME_BYTES } from '../protocol.js';

/** Results per native callback. */
const BATCH = 64;
/** The reader's `maxHeader` is a PROXY setting; a ClientHello peek reads up to a TLS record regardless. */
const UNUSED_MAX_HEADER = 107;

type Peeked = (keyName: string | undefined) => void;

interface Waiting {
  readonly socket: net.Socket;
  readonly done: Peeked;
  readonly timer: NodeJS.Timeout;
}

/** The fd under a net.Socket (TCPWrap's, on Linux), or -1. */
export function socketFd(socket: net.Socket): number {
  const handle = (socket as unknown as { _handle?: { fd?: number } })._handle;
  return typeof handle?.fd === 'number' ? handle.fd : -1;
}

/**
 * A shard's ClientHello peeks (one native header reader for all its TLS listeners): which ticket key, if
 * any, made the session ticket a new connection offers, read with MSG_PEEK before TLS sees a byte. The
 * socket must not be reading yet (adopted with `manualStart`, or paused on connect): TLS reads it after.
 */
export class ClientHelloPeek {
  readonly #out = new Int32Array(BATCH * HEADER_WORDS);
  readonly #bytes = new Uint8Array(this.#out.buffer);
  readonly #waiting = new Map<number, Waiting>();
  #reader: HeaderReaderHandle | undefined;

  /**
   * Calls `done` with the hex key name of the offered ticket, or undefined (no ticket, not TLS, the peer
   * closed, or nothing within `timeoutMs`: TLS then sees to the connection itself).
   */
  peek(socket: net.Socket, timeoutMs: number, done: Peeked): void {
    const fd = socketFd(socket);
    if (fd < 0) {
      done(undefined);
      return;
    }
    this.#reader ??= startHeaderReader(
      HEADER_PEEK_CLIENT_HELLO,
      UNUSED_MAX_HEADER,
      new Uint8Array(0),
      this.#out,
      this.#onResults,
    );
    if (addHeaderFd(this.#reader, fd) !== HEADER_PENDING) {
      done(undefined);
      return;
    }
    const timer = setTimeout(() => {
      if (this.#reader !== undefined) removeHeaderFd(this.#reader, fd);
      this.#finish(fd, undefined);
    }, timeoutMs);
    this.#waiting.set(fd, { socket, done, timer });
    // Destroyed meanwhile (a drain): its fd closes, which takes it out of the epoll set; forget it too.
    socket.once('close', () => this.#forget(fd, socket));
  }

  readonly #onResults = (count: number): void => {
    for (let i = 0; i < count; i++) {
      const record = i * HEADER_WORDS;
      const fd = this.#out[record + HEADER_FD]!;
      let name: string | undefined;
      if (this.#out[record + HEADER_STATUS] === HEADER_TICKET) {
        const start = (record + HEADER_ADDRESS) * Int32Array.BYTES_PER_ELEMENT;
        name = Buffer.from(this.#bytes.buffer, start, TICKET_KEY_NAME_BYTES).toString('hex');
      }
      this.#finish(fd, name);
    }
  };

  #finish(fd: number, name: string | undefined): void {
    const waiting = this.#waiting.get(fd);
    if (waiting === undefined) return;
    this.#waiting.delete(fd);
    clearTimeout(waiting.timer);
    waiting.done(name);
  }

  #forget(fd: number, socket: net.Socket): void {
    const waiting = this.#waiting.get(fd);
    if (waiting?.socket !== socket) return;
    this.#waiting.delete(fd);
    clearTimeout(waiting.timer);
  }

  close(): void {
    for (const { timer } of this.#waiting.values()) clearTimeout(timer);
    this.#waiting.clear();
    if (this.#reader !== undefined) stopHeaderReader(this.#reader);
    this.#reader = undefined;
  }
}
