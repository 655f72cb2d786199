import { describe, expect, it } from 'vitest';
import { createRing, RingConsumer, RingProducer } from '../../src/ring/index.js';
import { WORD_COPY_IN_MAX, WORD_COPY_OUT_MAX } from '../../src/ring/word-copy.js';

function pair() {
  const buffer = createRing({ capacity: 1 << 12 });
  return { producer: new RingProducer(buffer), consumer: new RingConsumer(buffer) };
}

const pattern = (length: number, seed: number) =>
  Uint8Array.from({ length }, (_, i) => (seed * 37 + i * 11) & 0xff);

/** Stages `length` bytes of `pattern(.., seed)` from `scratch` and returns the record's bytes. */
function roundTrip(
  producer: RingProducer,
  consumer: RingConsumer,
  scratch: Uint8Array,
  length: number,
  seed: number,
) {
  scratch.set(pattern(length, seed));
  expect(producer.stage(scratch, seed % 255, length)).toBe(true);
  producer.commit();
  const out: number[][] = [];
  consumer.drain((bytes, offset, size) => out.push([...bytes.subarray(offset, offset + size)]));
  return out;
}

describe('ring copy paths for small records', () => {
  it('copies every length past both word-copy limits from one scratch buffer, word path and set path alike', () => {
    const { producer, consumer } = pair();
    const scratch = new Uint8Array(Math.max(WORD_COPY_IN_MAX, WORD_COPY_OUT_MAX) + 64);
    // Twice over: the first call for an array takes TypedArray.set, later ones the word loop.
    for (let round = 0; round < 2; round++) {
      for (let length = 0; length <= scratch.length; length++) {
        expect(roundTrip(producer, consumer, scratch, length, length + round)).toEqual([
          [...pattern(length, length + round)],
        ]);
      }
    }
  });

  it('copies from a source that is not word-aligned, or that grew with its resizable buffer', () => {
    const { producer, consumer } = pair();
    const unaligned = new Uint8Array(64).subarray(1, 62);
    for (let seed = 0; seed < 3; seed++) {
      expect(roundTrip(producer, consumer, unaligned, 61, seed)).toEqual([[...pattern(61, seed)]]);
    }
    const buffer = new ArrayBuffer(16, { maxByteLength: 128 });
    const growing = new Uint8Array(buffer); // length-tracking: it grows with its buffer
    for (const size of [16, 16, 100, 100, 128]) {
      buffer.resize(size);
      expect(roundTrip(producer, consumer, growing, size, size)).toEqual([[...pattern(size, size)]]);
    }
  });

  it('refuses a length longer than the source', () => {
    const { producer } = pair();
    expect(() => producer.stage(new Uint8Array(8), 0, 9)).toThrow(RangeError);
    expect(() => producer.stage(new Uint8Array(8), 0, 1.5)).toThrow(RangeError);
    expect(producer.staged).toBe(0);
  });

  it('copies a record out into a scratch buffer at aligned and unaligned offsets, bounds checked', () => {
    const { producer, consumer } = pair();
    const target = new Uint8Array(WORD_COPY_OUT_MAX + 16);
    const odd = new Uint8Array(WORD_COPY_OUT_MAX + 16).subarray(2);
    for (const [length, into, at] of [
      [5, target, 0],
      [64, target, 0],
      [64, target, 4],
      [63, target, 3],
      [WORD_COPY_OUT_MAX, target, 8],
      [WORD_COPY_OUT_MAX + 8, target, 0],
      [64, odd, 0],
      [64, odd, 0],
    ] as const) {
      into.fill(0);
      expect(producer.write(pattern(length, length))).toBe(true);
      consumer.drain((_, offset, size) => {
        consumer.copy(offset, size, into, at);
        // An offset inside the payload that is not word-aligned takes the set path.
        if (size > 4) consumer.copy(offset + 1, size - 1, new Uint8Array(size), 0);
      });
      expect([...into.subarray(at, at + length)]).toEqual([...pattern(length, length)]);
      expect(into.subarray(0, at).every((b) => b === 0)).toBe(true);
      expect(into.subarray(at + length).every((b) => b === 0)).toBe(true);
    }
    producer.write(pattern(16, 1));
    consumer.drain((_, offset, size) => {
      expect(() => consumer.copy(offset, size, new Uint8Array(15))).toThrow(RangeError);
      expect(() => consumer.copy(offset, size, new Uint8Array(16), 1)).toThrow(RangeError);
      expect(() => consumer.copy(offset, size, new Uint8Array(16), -1)).toThrow(RangeError);
      expect(() => consumer.copy(consumer.capacity - 8, size, new Uint8Array(16))).toThrow(RangeError);
      expect(() => consumer.copy(offset, -1, new Uint8Array(16))).toThrow(RangeError);
    });
  });
});
