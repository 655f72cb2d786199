import {
  TICKET_KEY_BYTES,
  TICKET_KEY_NAME_BYTES,
  TICKET_KEYS_CURRENT,
  TICKET_KEYS_GENERATION,
  TICKET_KEYS_PREVIOUS,
  TICKET_KEYS_SEQUENCE,
} from '../protocol.js';

/** One consistent read of the shared ticket keys. */
export interface TicketKeys {
  readonly generation: number;
  readonly current: Buffer;
  /** Undefined before the first rotation. */
  readonly previous: Buffer | undefined;
}

/**
 * A shard's view of the session-ticket keys the coordinator writes (TICKET_KEYS_* in protocol.ts for the
 * layout and the sequence lock). `changed()` costs one shared-memory load: the shard asks it for each TLS
 * connection and reads the keys only after a rotation.
 */
export class TicketKeysView {
  readonly #words: Int32Array;
  readonly #bytes: Uint8Array;
  #generation = 0;

  constructor(buffer: SharedArrayBuffer) {
    this.#words = new Int32Array(buffer);
    this.#bytes = new Uint8Array(buffer);
  }

  /** True when the coordinator has rotated since the last `read()`. */
  changed(): boolean {
    return Atomics.load(this.#words, TICKET_KEYS_GENERATION) !== this.#generation;
  }

  /** Copies the keys; retries while the coordinator is writing them (it writes once per period). */
  read(): TicketKeys {
    for (;;) {
      const before = Atomics.load(this.#words, TICKET_KEYS_SEQUENCE);
      if ((before & 1) !== 0) continue;
      const generation = Atomics.load(this.#words, TICKET_KEYS_GENERATION);
      const current = Buffer.from(
        this.#bytes.slice(TICKET_KEYS_CURRENT, TICKET_KEYS_CURRENT + TICKET_KEY_BYTES),
      );
      const previous = Buffer.from(
        this.#bytes.slice(TICKET_KEYS_PREVIOUS, TICKET_KEYS_PREVIOUS + TICKET_KEY_BYTES),
      );
      if (Atomics.load(this.#words, TICKET_KEYS_SEQUENCE) !== before) continue;
      this.#generation = generation;
      return { generation, current, previous: previous.some((byte) => byte !== 0) ? previous : undefined };
    }
  }
}

/** The name of a set of keys, as the peek compares it: their first 16 bytes (raw) as four Int32 words. */
export type KeyName = Int32Array;

/** The name a ticket carries of the keys that made it: their first 16 bytes. */
export function keyName(keys: Buffer): KeyName {
  return new Int32Array(new Uint8Array(keys.subarray(0, TICKET_KEY_NAME_BYTES)).buffer);
}
