import { RingRangeError, RingRecordTooLargeError } from '../errors.js';
import {
  attachRing,
  BYTES_IN,
  CONSUMER_PARKED,
  CONSUMER_WAKEUPS,
  FULL_EVENTS,
  HEAD,
  HEADER_BYTES,
  MAX_TYPE,
  PAD_TYPE,
  PRODUCER_PARKED,
  PRODUCER_PARKS,
  RECORDS_IN,
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
import { copyWords, WORD_COPY_IN_MAX, WordViewCache } from './word-copy.js';

const PAD_HEADER = PAD_TYPE << 24;

/**
 * The writing end of a ring. Threading contract: one `RingProducer` per ring buffer, used from one thread
 * only (see `layout.ts` for the memory layout and the consumer's side).
 *
 * Records are staged with `claim`/`reserve`/`stage` and become visible to the consumer together at the next
 * `commit()` (one atomic store, and a notify only if the consumer is parked). `write` stages and commits.
 * A full ring never blocks and never overwrites: the staging call returns -1/null/false, counts a full
 * event, and commits what was staged so that the consumer can make room.
 */
export class RingProducer {
  /** The data region; `claim` returns offsets into it. Write only inside ranges you have claimed. */
  readonly bytes: Uint8Array;
  /** The data region as Int32 words (records and payloads are 8-byte aligned): `offset >> 2` indexes it. */
  readonly words: Int32Array;
  readonly capacity: number;
  readonly maxRecord: number;
  readonly #control: Int32Array;
  readonly #counters: Float64Array;
  readonly #mask: number;
  /** Next free byte (staged records included). */
  #tail: number;
  /** The tail the consumer can see. */
  #published: number;
  /** The consumer's head as last read; refreshed only when the cached value says the ring is full. */
  #head: number;
  #stagedRecords = 0;
  #stagedBytes = 0;
  readonly #park: ParkSite;
  readonly #sources = new WordViewCache();

  constructor(buffer: SharedArrayBuffer, expected?: RingOptions) {
    const layout = attachRing(buffer, expected);
    this.bytes = layout.bytes;
    this.capacity = layout.capacity;
    this.maxRecord = layout.maxRecord;
    this.#control = layout.control;
    this.#counters = layout.counters;
    this.words = layout.words;
    this.#mask = layout.mask;
    this.#tail = this.#published = Atomics.load(layout.control, TAIL) >>> 0;
    this.#head = Atomics.load(layout.control, HEAD) >>> 0;
    this.#park = parkSite(layout.control, PRODUCER_PARKED, layout.counters, PRODUCER_PARKS);
  }

  /**
   * Stages a record of exactly `length` payload bytes and returns the offset of its payload in `bytes`,
   * or -1 when the ring has no room now. The record is visible to the consumer after `commit()`.
   * @throws {RingRecordTooLargeError} when `length` exceeds `maxRecord` (it could never fit).
   */
  claim(length: number, type = 0): number {
    if (length >>> 0 !== length || length > this.maxRecord) this.#badLength(length);
    if (type >>> 0 !== type || type > MAX_TYPE)
      throw new RingRangeError(`record type must be 0..${MAX_TYPE}`);
    const size = recordSize(length);
    let tail = this.#tail;
    let pos = tail & this.#mask;
    const toEnd = this.capacity - pos;
    const needed = size <= toEnd ? size : toEnd + size;
    if (((tail - this.#head) >>> 0) + needed > this.capacity) {
      this.#head = Atomics.load(this.#control, HEAD) >>> 0;
      if (((tail - this.#head) >>> 0) + needed > this.capacity) return this.#full();
    }
    if (size > toEnd) {
      // The record would straddle the end of the region: pad to the end and start it at offset 0.
      this.words[pos >> 2] = PAD_HEADER;
      tail = (tail + toEnd) >>> 0;
      pos = 0;
    }
    this.words[pos >> 2] = (type << 24) | length;
    this.#tail = (tail + size) >>> 0;
    this.#stagedRecords++;
    this.#stagedBytes += length;
    return pos + HEADER_BYTES;
  }

  /** `claim` returning a writable view over the record's payload (an allocation: `claim` is cheaper). */
  reserve(length: number, type = 0): Uint8Array | null {
    const offset = this.claim(length, type);
    return offset < 0 ? null : this.bytes.subarray(offset, offset + length);
  }

  /**
   * Copies `data` (or its first `length` bytes) into a staged record; false when the ring has no room now.
   * A small record from the same array as the last call (a scratch buffer, with `length` for a message
   * shorter than it) is copied word by word (see word-copy.ts).
   * @throws {RangeError} when `length` is not an integer from 0 to `data.length`.
   */
  stage(data: Uint8Array, type = 0, length = data.length): boolean {
    if (length >>> 0 !== length || length > data.length) {
      throw new RangeError(`length must be an integer from 0 to ${data.length}`);
    }
    const offset = this.claim(length, type);
    if (offset < 0) return false;
    const source = length <= WORD_COPY_IN_MAX ? this.#sources.of(data) : null;
    if (source === null) {
      this.bytes.set(length === data.length ? data : data.subarray(0, length), offset);
      return true;
    }
    const whole = length & ~3;
    copyWords(source, 0, this.words, offset >> 2, whole >> 2);
    for (let i = whole; i < length; i++) this.bytes[offset + i] = data[i]!;
    return true;
  }

  /** Copies `data` into a record and commits it; false when the ring has no room now. */
  write(data: Uint8Array, type = 0): boolean {
    if (!this.stage(data, type)) return false;
    this.commit();
    return true;
  }

  /** Publishes every staged record with one store; wakes the consumer only if it is parked. */
  commit(): void {
    const tail = this.#tail;
    if (tail === this.#published) return;
    Atomics.store(this.#control, TAIL, tail | 0);
    this.#published = tail;
    const counters = this.#counters;
    counters[RECORDS_IN] += this.#stagedRecords;
    counters[BYTES_IN] += this.#stagedBytes;
    this.#stagedRecords = 0;
    this.#stagedBytes = 0;
    if (wakeIfParked(this.#control, CONSUMER_PARKED)) counters[CONSUMER_WAKEUPS] += 1;
  }

  /** Records staged but not yet committed. */
  get staged(): number {
    return this.#stagedRecords;
  }

  /** True when a record of `length` payload bytes would fit now, wherever the write position is. */
  hasRoomFor(length: number): boolean {
    const size = recordSize(length);
    const toEnd = this.capacity - (this.#tail & this.#mask);
    const needed = size <= toEnd ? size : toEnd + size;
    this.#head = Atomics.load(this.#control, HEAD) >>> 0;
    return ((this.#tail - this.#head) >>> 0) + needed <= this.capacity;
  }

  /**
   * Resolves true once a record of `length` bytes fits (false on timeout). Commits staged records first,
   * so that the consumer has something to free. Never blocks the event loop.
   */
  waitForRoom(length: number, options?: WaitOptions): Promise<boolean> {
    if (length > this.maxRecord) this.#badLength(length);
    this.commit();
    return waitAsync(this.#park, () => this.hasRoomFor(length), options);
  }

  /** Blocking `waitForRoom`, for threads with no event loop work to do. */
  waitForRoomSync(length: number, options?: WaitOptions): boolean {
    if (length > this.maxRecord) this.#badLength(length);
    this.commit();
    return waitSync(this.#park, () => this.hasRoomFor(length), options);
  }

  #full(): number {
    // Without this commit a producer that stages until full would wait for a consumer that sees nothing.
    this.commit();
    this.#counters[FULL_EVENTS] += 1;
    return -1;
  }

  #badLength(length: number): never {
    if (length >>> 0 !== length) throw new RingRangeError(`record length must be a non-negative integer`);
    throw new RingRecordTooLargeError(length, this.maxRecord);
  }
}
