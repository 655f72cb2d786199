import type { FastConnection } from './connection.js';

/**
 * How a fast connection's bytes reach the kernel: the shard's native stream group (`streams-transport.ts`).
 * A `net.Socket` transport was measured against it and lost (see the README; the commit "Fast path design
 * (a), for the measurement only" has it). Writes are queued in order and leave together (corked) at the
 * end of the batch or tick that made them.
 */
export interface Transport {
  /** Queues a response: `head` (latin1) then `body` (a string is sent as UTF-8). */
  send(connection: FastConnection, head: string, body: string | Uint8Array | null): void;
  /** Queues raw bytes (a streamed body's chunk, with its chunk framing in `prefix` and `suffix`). */
  sendChunk(
    connection: FastConnection,
    prefix: string,
    chunk: string | Uint8Array | null,
    suffix: string,
  ): void;
  /** After what is queued: shut the write side, drop what the peer still sends, close; then `closed()`. */
  end(connection: FastConnection): void;
  /** Closes now, dropping unsent output. No event follows. */
  destroy(connection: FastConnection): void;
  /** Stops or restarts reading. */
  pause(connection: FastConnection, paused: boolean): void;
  /** Whether this connection's unsent output has passed the high-water mark (wait for `drained()`). */
  congested(connection: FastConnection): boolean;
  /** Whether a request's head may live in memory that the next read reuses (then it is copied or released). */
  readonly reusesInput: boolean;
}
