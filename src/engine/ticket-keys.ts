import { randomBytes } from 'node:crypto';
import {
  TICKET_KEY_BYTES,
  TICKET_KEYS_BYTES,
  TICKET_KEYS_CURRENT,
  TICKET_KEYS_GENERATION,
  TICKET_KEYS_PREVIOUS,
  TICKET_KEYS_SEQUENCE,
} from '../protocol.js';

/**
 * The session-ticket keys all shards share (layout and threading contract: TICKET_KEYS_* in protocol.ts),
 * made here, in the coordinator, and rotated every `rotationMs`: the new keys make every ticket from then
 * on, the previous ones still open tickets for one more period, then they are gone. Shards pick up a
 * rotation at their next TLS connection (one shared-memory load each), so no shard restarts and no message
 * is sent. (node:cluster shares the first worker's keys with the others through its primary, but never
 * rotates them: setTicketKeys in every worker would end every ticket at once.)
 */
export class TicketKeyRing {
  readonly buffer = new SharedArrayBuffer(TICKET_KEYS_BYTES);
  readonly #words = new Int32Array(this.buffer);
  readonly #bytes = new Uint8Array(this.buffer);
  #timer: NodeJS.Timeout | undefined;

  constructor() {
    this.#write(randomBytes(TICKET_KEY_BYTES), new Uint8Array(TICKET_KEY_BYTES));
  }

  /** The keys of this period and of the one before (zeros before the first rotation). */
  get current(): Buffer {
    return Buffer.from(this.#bytes.subarray(TICKET_KEYS_CURRENT, TICKET_KEYS_CURRENT + TICKET_KEY_BYTES));
  }

  get previous(): Buffer {
    return Buffer.from(this.#bytes.subarray(TICKET_KEYS_PREVIOUS, TICKET_KEYS_PREVIOUS + TICKET_KEY_BYTES));
  }

  get generation(): number {
    return Atomics.load(this.#words, TICKET_KEYS_GENERATION);
  }

  /** New keys now: the current ones become the previous ones, the previous ones are forgotten. */
  rotate(): void {
    this.#write(randomBytes(TICKET_KEY_BYTES), this.current);
  }

  /** Rotates every `periodMs` until `stop()`; the timer does not keep the process alive. */
  start(periodMs: number): void {
    this.stop();
    this.#timer = setInterval(() => this.rotate(), periodMs).unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** The one writer: an odd sequence while the bytes change, so a reader that overlaps it reads again. */
  #write(current: Uint8Array, previous: Uint8Array): void {
    Atomics.add(this.#words, TICKET_KEYS_SEQUENCE, 1);
    this.#bytes.set(current, TICKET_KEYS_CURRENT);
    this.#bytes.set(previous, TICKET_KEYS_PREVIOUS);
    Atomics.add(this.#words, TICKET_KEYS_GENERATION, 1);
    Atomics.add(this.#words, TICKET_KEYS_SEQUENCE, 1);
  }
}
