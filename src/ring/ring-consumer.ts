import { RingStateError } from '../errors.js';
import {
  attachRing,
  BYTES_OUT,
  CONSUMER_PARKED,
  CONSUMER_PARKS,
  HEAD,
  HEADER_BYTES,
  LENGTH_MASK,
  PAD_TYPE,
  PRODUCER_PARKED,
  PRODUCER_WAKEUPS,
  RECORDS_OUT,
  type RingOptions,
  recordSize,
  TAIL,
} from './layout.js';
import {
  type ParkSite,
  parkSite,
  type WaitOptions,
  waitAsync,
  waitSync,
  wakeIfParked,
} from './wait-strategy.js';
import { copyWords, WORD_COPY_OUT_MAX, WordViewCache } from './word-copy.js';

/**
 * Called once per record by `drain`: the payload is `bytes[offset .. offset + length)`, read-only, and valid
 * only until the callback returns (the producer may overwrite it after the batch is released).
 */
export type RecordHandler = (bytes: Uint8Array, offset: number, length: number, type: number) => void;

/** A record returned by `peek`; `data` is a read-only view over shared memory, valid until `release()`. */
export interface RingRecord {
  readonly type: number;
  readonly data: Uint8Array;
}

/**
 * The reading end of a ring. Threading contract: one `RingConsumer` per ring buffer, used from one thread
 * only (see `layout.ts` for the memory layout and the producer's side).
 *
 * Nothing is copied: `peek` and `drain` expose the payload where the producer wrote it. `drain` hands a
 * batch to a callback and releases the whole batch with one store; `peek`/`release` take one record at a
 * time. Records arrive in the order they were committed, each exactly once.
 */
export class RingConsumer {
  /** The data region; `drain` passes offsets into it. Never write to it. */
  readonly bytes: Uint8Array;
  /** The data region as Int32 words (records and payloads are 8-byte aligned): `offset >> 2` indexes it. */
  readonly words: Int32Array;
  readonly capacity: number;
  readonly maxRecord: number;
  readonly #control: Int32Array;
  readonly #counters: Float64Array;
  readonly #mask: number;
  /** Next unread byte (what the producer sees once released). */
  #head: number;
  /** The producer's tail as last read. */
  #tail: number;
  /** End of the record `peek` returned, or -1. */
  #peekedEnd = -1;
  #peekedLength = 0;
  readonly #park: ParkSite;
  readonly #targets = new WordViewCache();

  constructor(buffer: SharedArrayBuffer, expected?: RingOptions) {
    const layout = attachRing(buffer, expected);
    this.bytes = layout.bytes;
    this.capacity = layout.capacity;
    this.maxRecord = layout.maxRecord;
    this.#control = layout.control;
    this.#counters = layout.counters;
    this.words = layout.words;
    this.#mask = layout.mask;
    this.#head = Atomics.load(layout.control, HEAD) >>> 0;
    this.#tail = Atomics.load(layout.control, TAIL) >>> 0;
    this.#park = parkSite(layout.control, CONSUMER_PARKED, layout.counters, CONSUMER_PARKS);
  }

  /** True when at least one committed record is waiting. */
  hasData(): boolean {
    if (this.#head !== this.#tail) return true;
    this.#tail = Atomics.load(this.#control, TAIL) >>> 0;
    return this.#head !== this.#tail;
  }

  /**
   * Hands up to `max` waiting records to `handler` in order, then releases them all with one store.
   * If `handler` throws, the records handled so far (the throwing one included) are released and the
   * error propagates: a poisoned record is not redelivered.
   */
  drain(handler: RecordHandler, max = Number.POSITIVE_INFINITY): number {
    if (this.#peekedEnd !== -1) throw new RingStateError('drain() while a peeked record is not released');
    const tail = Atomics.load(this.#control, TAIL) >>> 0;
    this.#tail = tail;
    let head = this.#head;
    if (head === tail) return 0;
    const words = this.words;
    const bytes = this.bytes;
    const mask = this.#mask;
    let count = 0;
    let total = 0;
    try {
      while (head !== tail && count < max) {
        const pos = head & mask;
        const header = words[pos >> 2];
        const type = header >>> 24;
        if (type === PAD_TYPE) {
          head = (head + this.capacity - pos) >>> 0;
          continue;
        }
        const length = header & LENGTH_MASK;
        // Advance first, so that a throwing handler still releases its record.
        head = (head + recordSize(length)) >>> 0;
        count++;
        total += length;
        handler(bytes, pos + HEADER_BYTES, length, type);
      }
    } finally {
      this.#release(head, count, total);
    }
    return count;
  }

  /** The next record without consuming it, or null when the ring is empty. Call `release()` when done. */
  peek(): RingRecord | null {
    if (!this.hasData()) return null;
    let head = this.#head;
    let pos = head & this.#mask;
    let header = this.words[pos >> 2];
    if (header >>> 24 === PAD_TYPE) {
      // Skip the padding locally; it is released together with the record after it.
      head = (head + this.capacity - pos) >>> 0;
      pos = 0;
      header = this.words[0];
    }
    const length = header & LENGTH_MASK;
    this.#peekedEnd = (head + recordSize(length)) >>> 0;
    this.#peekedLength = length;
    return {
      type: header >>> 24,
      data: this.bytes.subarray(pos + HEADER_BYTES, pos + HEADER_BYTES + length),
    };
  }

  /** Releases the record `peek` returned; its view must not be used afterwards. */
  release(): void {
    if (this.#peekedEnd === -1) throw new RingStateError('release() without a peeked record');
    const end = this.#peekedEnd;
    this.#peekedEnd = -1;
    this.#release(end, 1, this.#peekedLength);
  }

  /**
   * Copies `length` bytes of the data region from `offset` (a payload as `drain` or `peek` give it) into
   * `target` at `targetOffset`, for a record kept beyond its release. A small record copied into the same
   * array as the last call (a scratch buffer) at a word-aligned offset goes word by word (see word-copy.ts).
   * @throws {RangeError} when the bytes are not all in the data region, or do not fit in `target` at
   *   `targetOffset`.
   * @example
   * const kept = new Uint8Array(256); // one scratch array, reused: small records are copied word by word
   * consumer.drain((_, offset, length) => consumer.copy(offset, length, kept));
   */
  copy(offset: number, length: number, target: Uint8Array, targetOffset = 0): void {
    if (offset >>> 0 !== offset || length >>> 0 !== length || offset + length > this.capacity) {
      throw new RangeError(`bytes ${offset}..${offset + length} are not in the ring's data region`);
    }
    if (targetOffset >>> 0 !== targetOffset || targetOffset + length > target.length) {
      throw new RangeError(`${length} bytes do not fit in ${target.length} at ${targetOffset}`);
    }
    const aligned = ((offset | targetOffset) & 3) === 0;
    const words = length <= WORD_COPY_OUT_MAX && aligned ? this.#targets.of(target) : null;
    if (words === null) {
      target.set(this.bytes.subarray(offset, offset + length), targetOffset);
      return;
    }
    const whole = length & ~3;
    copyWords(this.words, offset >> 2, words, targetOffset >> 2, whole >> 2);
    for (let i = whole; i < length; i++) target[targetOffset + i] = this.bytes[offset + i]!;
  }

  /** Resolves true when a record is waiting (false on timeout); parks with `Atomics.waitAsync`. */
  waitForData(options?: WaitOptions): Promise<boolean> {
    return waitAsync(this.#park, () => this.hasData(), options);
  }

  /** Blocking `waitForData` (`Atomics.wait`), for threads with no event loop work to do. */
  waitForDataSync(options?: WaitOptions): boolean {
    return waitSync(this.#park, () => this.hasData(), options);
  }

  #release(head: number, records: number, bytes: number): void {
    if (head === this.#head) return;
    this.#head = head;
    Atomics.store(this.#control, HEAD, head | 0);
    const counters = this.#counters;
    counters[RECORDS_OUT] += records;
    counters[BYTES_OUT] += bytes;
    if (wakeIfParked(this.#control, PRODUCER_PARKED)) counters[PRODUCER_WAKEUPS] += 1;
  }
}
