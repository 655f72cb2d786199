/**
 * Memory layout of a sockshard ring: one SharedArrayBuffer holding a single-producer single-consumer
 * queue of variable-length byte records.
 *
 * Threading contract: exactly one producer thread (a `RingProducer`) and exactly one consumer thread (a
 * `RingConsumer`) per buffer, for the buffer's whole life; the roles never swap. Any thread may read the
 * counters (`readRingStats`). Nothing here blocks unless a caller asks for a `...Sync` wait.
 *
 * Byte offsets (every line is 64 bytes so that the producer's and the consumer's hot words never share a
 * cache line; `Int32` words are read with `Atomics` where the other side writes them):
 *
 * | offset | size | field                 | written by          | read by            |
 * |--------|------|-----------------------|---------------------|--------------------|
 * | 0      | 4    | MAGIC ('SSRG')        | creator             | attach             |
 * | 4      | 4    | VERSION               | creator             | attach             |
 * | 8      | 4    | CAPACITY (data bytes) | creator             | both               |
 * | 12     | 4    | MAX_RECORD            | creator             | both               |
 * | 64     | 4    | TAIL (u32 byte index) | producer (commit)   | consumer           |
 * | 128    | 4    | HEAD (u32 byte index) | consumer (release)  | producer           |
 * | 192    | 4    | CONSUMER_PARKED flag  | consumer sets 1     | producer clears 0  |
 * | 196    | 4    | PRODUCER_PARKED flag  | producer sets 1     | consumer clears 0  |
 * | 256    | 64   | producer counters f64 | producer            | anyone             |
 * | 320    | 64   | consumer counters f64 | consumer            | anyone             |
 * | 384    | cap  | data region           | producer            | consumer           |
 *
 * TAIL and HEAD are free-running unsigned 32-bit byte counters; a position in the data region is
 * `index & (capacity - 1)`. They wrap at 2^32, which is a multiple of every power-of-two capacity, so
 * `(tail - head) >>> 0` is the number of bytes in use across the wrap.
 *
 * A record is an 8-byte header (Int32 `(type << 24) | length`, then a reserved Int32) followed by `length`
 * payload bytes, padded to a multiple of 8. Payloads are 8-byte aligned because V8 copies into and out of a
 * SharedArrayBuffer word by word only when source and target are word-aligned: at a 4-byte offset
 * `TypedArray.set` fell back to bytes and ran 7x slower here (4 GB/s against 31 GB/s for 16 KiB). A record
 * never straddles the end of the region:
 * when it would, the producer writes a header with type `PAD_TYPE` that tells the consumer to skip to the
 * start of the region. `maxRecord` is at most `capacity / 2 - 8`, so an empty ring always has room for any
 * legal record on one side or the other of its current position: a legal record can never wait forever.
 */

import { RingLayoutError, RingRangeError } from '../errors.js';

/** 'SSRG' as a little-endian Int32. */
export const RING_MAGIC = 0x47525353;
export const RING_LAYOUT_VERSION = 1;

const LINE = 64;

// Int32 word indices into the control area.
export const MAGIC = 0;
export const VERSION = 1;
export const CAPACITY = 2;
export const MAX_RECORD = 3;
export const TAIL = LINE / 4;
export const HEAD = (2 * LINE) / 4;
export const CONSUMER_PARKED = (3 * LINE) / 4;
export const PRODUCER_PARKED = CONSUMER_PARKED + 1;

// Float64 word indices of the counters (each side writes only its own line).
export const RECORDS_IN = (4 * LINE) / 8;
export const BYTES_IN = RECORDS_IN + 1;
export const FULL_EVENTS = RECORDS_IN + 2;
export const PRODUCER_PARKS = RECORDS_IN + 3;
export const CONSUMER_WAKEUPS = RECORDS_IN + 4;
export const RECORDS_OUT = (5 * LINE) / 8;
export const BYTES_OUT = RECORDS_OUT + 1;
export const CONSUMER_PARKS = RECORDS_OUT + 2;
export const PRODUCER_WAKEUPS = RECORDS_OUT + 3;

export const CONTROL_BYTES = 6 * LINE;
export const HEADER_BYTES = 8;
/** Records start, and payloads begin, on 8-byte boundaries. */
export const RECORD_ALIGN = 8;
export const LENGTH_MASK = 0xffffff;
/** Type tag of a padding record; user records may use 0..254. */
export const PAD_TYPE = 0xff;
export const MAX_TYPE = PAD_TYPE - 1;
export const MIN_CAPACITY = 64;
export const MAX_CAPACITY = 2 ** 30;

export interface RingOptions {
  /** Bytes in the data region: a power of two from 64 to 2^30. Default 1 MiB. */
  readonly capacity?: number;
  /** Largest payload a record may carry; at most `capacity / 2 - 8` (the default) and 2^24 - 1. */
  readonly maxRecord?: number;
}

/** The typed views over one ring buffer that both sides use. */
export interface RingLayout {
  readonly buffer: SharedArrayBuffer;
  readonly capacity: number;
  readonly mask: number;
  readonly maxRecord: number;
  /** Control words (indices above). */
  readonly control: Int32Array;
  /** Counters (indices above). */
  readonly counters: Float64Array;
  /** The data region as bytes; record payloads are views or offsets into it. */
  readonly bytes: Uint8Array;
  /** The data region as aligned Int32 words, for headers. */
  readonly words: Int32Array;
}

export function ringByteLength(capacity: number): number {
  return CONTROL_BYTES + capacity;
}

/** The payload size of the largest record a ring of `capacity` bytes can hold. */
export function largestRecord(capacity: number): number {
  return Math.min(capacity / 2 - HEADER_BYTES, LENGTH_MASK);
}

/** Bytes a record of `length` payload bytes occupies in the data region (header and padding included). */
export function recordSize(length: number): number {
  return HEADER_BYTES + ((length + RECORD_ALIGN - 1) & -RECORD_ALIGN);
}

/** Creates a zeroed ring buffer; hand `buffer` to the other thread and attach there with `attachRing`. */
export function createRing(options: RingOptions = {}): SharedArrayBuffer {
  const capacity = options.capacity ?? 1 << 20;
  if (!Number.isInteger(capacity) || capacity < MIN_CAPACITY || capacity > MAX_CAPACITY) {
    throw new RingRangeError(`capacity must be a power of two from ${MIN_CAPACITY} to ${MAX_CAPACITY}`);
  }
  if ((capacity & (capacity - 1)) !== 0)
    throw new RingRangeError(`capacity ${capacity} is not a power of two`);
  const largest = largestRecord(capacity);
  const maxRecord = options.maxRecord ?? largest;
  if (!Number.isInteger(maxRecord) || maxRecord < 0 || maxRecord > largest) {
    throw new RingRangeError(`maxRecord must be an integer from 0 to ${largest} for capacity ${capacity}`);
  }
  const buffer = new SharedArrayBuffer(ringByteLength(capacity));
  const control = new Int32Array(buffer, 0, CONTROL_BYTES / 4);
  control[CAPACITY] = capacity;
  control[MAX_RECORD] = maxRecord;
  control[VERSION] = RING_LAYOUT_VERSION;
  // MAGIC last: a buffer is only a ring once everything else is in place.
  Atomics.store(control, MAGIC, RING_MAGIC);
  return buffer;
}

/**
 * Validates `buffer` as a ring and returns its views. `expected` (optional) is the configuration the caller
 * believes the ring has; any difference is an error rather than a silent reinterpretation.
 */
export function attachRing(buffer: SharedArrayBuffer, expected: RingOptions = {}): RingLayout {
  if (!(buffer instanceof SharedArrayBuffer)) throw new RingLayoutError('a ring must be a SharedArrayBuffer');
  if (buffer.byteLength < CONTROL_BYTES + MIN_CAPACITY) {
    throw new RingLayoutError(`buffer of ${buffer.byteLength} bytes is too small to be a ring`);
  }
  const control = new Int32Array(buffer, 0, CONTROL_BYTES / 4);
  if (Atomics.load(control, MAGIC) !== RING_MAGIC)
    throw new RingLayoutError('buffer is not a sockshard ring');
  const version = control[VERSION];
  if (version !== RING_LAYOUT_VERSION) {
    throw new RingLayoutError(`ring layout version ${version}, this build reads ${RING_LAYOUT_VERSION}`);
  }
  const capacity = control[CAPACITY];
  const maxRecord = control[MAX_RECORD];
  if ((capacity & (capacity - 1)) !== 0 || capacity < MIN_CAPACITY || maxRecord > largestRecord(capacity)) {
    throw new RingLayoutError(`corrupt ring header (capacity ${capacity}, maxRecord ${maxRecord})`);
  }
  if (buffer.byteLength !== ringByteLength(capacity)) {
    throw new RingLayoutError(
      `ring of capacity ${capacity} needs ${ringByteLength(capacity)} bytes, buffer has ${buffer.byteLength}`,
    );
  }
  if (expected.capacity !== undefined && expected.capacity !== capacity) {
    throw new RingLayoutError(`expected capacity ${expected.capacity}, ring has ${capacity}`);
  }
  if (expected.maxRecord !== undefined && expected.maxRecord !== maxRecord) {
    throw new RingLayoutError(`expected maxRecord ${expected.maxRecord}, ring has ${maxRecord}`);
  }
  return {
    buffer,
    capacity,
    mask: capacity - 1,
    maxRecord,
    control,
    counters: new Float64Array(buffer, 0, CONTROL_BYTES / 8),
    bytes: new Uint8Array(buffer, CONTROL_BYTES, capacity),
    words: new Int32Array(buffer, CONTROL_BYTES, capacity / 4),
  };
}
