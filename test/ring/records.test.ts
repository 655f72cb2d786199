import { describe, expect, it } from 'vitest';
import { RingRecordTooLargeError, RingStateError, SockshardError } from '../../src/errors.js';
import { createRing, RingConsumer, RingProducer, readRingStats } from '../../src/ring/index.js';

function pair(capacity: number, maxRecord?: number) {
  const buffer = createRing(maxRecord === undefined ? { capacity } : { capacity, maxRecord });
  return { buffer, producer: new RingProducer(buffer), consumer: new RingConsumer(buffer) };
}

function bytesOf(length: number, seed: number): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (seed * 31 + i) & 0xff);
}

function drainAll(consumer: RingConsumer): { type: number; data: number[] }[] {
  const out: { type: number; data: number[] }[] = [];
  consumer.drain((bytes, offset, length, type) => {
    out.push({ type, data: [...bytes.subarray(offset, offset + length)] });
  });
  return out;
}

describe('ring records', () => {
  it('is empty until a commit, then yields the record once', () => {
    const { producer, consumer } = pair(256);
    expect(consumer.peek()).toBeNull();
    expect(producer.stage(bytesOf(10, 1), 7)).toBe(true);
    expect(consumer.hasData()).toBe(false);
    expect(consumer.drain(() => expect.unreachable())).toBe(0);
    producer.commit();
    expect(drainAll(consumer)).toEqual([{ type: 7, data: [...bytesOf(10, 1)] }]);
    expect(drainAll(consumer)).toEqual([]);
  });

  it('carries zero-length records', () => {
    const { producer, consumer } = pair(64);
    for (let i = 0; i < 40; i++) {
      expect(producer.write(new Uint8Array(0), i % 255)).toBe(true);
      expect(drainAll(consumer)).toEqual([{ type: i % 255, data: [] }]);
    }
  });

  it('reports full with -1/null/false, never overwrites, and counts it', () => {
    const { buffer, producer, consumer } = pair(64);
    // 64 bytes hold exactly four 8-byte payloads (16 bytes each with the header).
    for (let i = 0; i < 4; i++) expect(producer.write(bytesOf(8, i))).toBe(true);
    expect(producer.claim(0)).toBe(-1);
    expect(producer.reserve(8)).toBeNull();
    expect(producer.write(bytesOf(1, 9))).toBe(false);
    expect(readRingStats(buffer).fullEvents).toBe(3);
    expect(drainAll(consumer).map((r) => r.data)).toEqual([0, 1, 2, 3].map((i) => [...bytesOf(8, i)]));
    expect(producer.write(bytesOf(8, 5))).toBe(true);
  });

  it('commits staged records when it finds the ring full, so the consumer can make room', () => {
    const { producer, consumer } = pair(64);
    expect(producer.stage(bytesOf(20, 1))).toBe(true);
    expect(producer.stage(bytesOf(20, 2))).toBe(true);
    expect(consumer.hasData()).toBe(false);
    expect(producer.stage(bytesOf(20, 3))).toBe(false);
    expect(producer.staged).toBe(0);
    expect(drainAll(consumer)).toHaveLength(2);
  });

  it('places a record that ends exactly at the end of the region without padding', () => {
    const { buffer, producer, consumer } = pair(64);
    expect(producer.write(bytesOf(24, 1))).toBe(true); // 32 bytes
    expect(producer.write(bytesOf(24, 2))).toBe(true); // ends at 64
    expect(drainAll(consumer)).toHaveLength(2);
    const offset = producer.claim(24);
    expect(offset).toBe(8); // wrapped to the start, no padding record was needed
    producer.bytes.set(bytesOf(24, 3), offset);
    producer.commit();
    expect(drainAll(consumer)).toEqual([{ type: 0, data: [...bytesOf(24, 3)] }]);
    expect(readRingStats(buffer).usedBytes).toBe(0);
  });

  it('pads and wraps a record that would straddle the end', () => {
    const { producer, consumer } = pair(128);
    expect(producer.write(bytesOf(56, 0))).toBe(true); // 64 bytes
    expect(producer.write(bytesOf(32, 1))).toBe(true); // 40 bytes: 24 left before the end
    expect(drainAll(consumer)).toHaveLength(2);
    const offset = producer.claim(24, 3); // 32 bytes: does not fit in 24, goes to offset 0
    expect(offset).toBe(8);
    producer.bytes.set(bytesOf(24, 2), offset);
    producer.commit();
    const peeked = consumer.peek();
    expect(peeked?.type).toBe(3);
    expect([...(peeked?.data ?? [])]).toEqual([...bytesOf(24, 2)]);
    consumer.release();
    expect(consumer.peek()).toBeNull();
  });

  it('refuses to wrap when the padding plus the record does not fit yet', () => {
    const { producer, consumer } = pair(64);
    expect(producer.write(bytesOf(4, 0))).toBe(true); // 16 bytes at 0..16
    expect(producer.write(bytesOf(16, 1))).toBe(true); // 24 bytes at 16..40
    consumer.drain(() => {}, 1); // frees 0..16
    // 24 bytes left at the end and 16 free at the start: a 32-byte record fits nowhere yet.
    expect(producer.claim(24)).toBe(-1);
    drainAll(consumer);
    expect(producer.claim(24)).toBe(8);
  });

  it('keeps every payload 8-byte aligned, so copies into shared memory take the word-wise path', () => {
    const { producer } = pair(1024);
    for (const length of [0, 1, 3, 7, 8, 9, 100]) expect(producer.claim(length) % 8).toBe(0);
  });

  it('takes records up to maxRecord and throws a RangeError beyond it', () => {
    const { producer, consumer } = pair(1024);
    const largest = bytesOf(producer.maxRecord, 4);
    for (let round = 0; round < 5; round++) {
      expect(producer.write(largest)).toBe(true);
      expect(drainAll(consumer)[0]?.data).toEqual([...largest]);
    }
    const error = (() => {
      try {
        producer.claim(producer.maxRecord + 1);
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(RangeError);
    expect(error).toBeInstanceOf(RingRecordTooLargeError);
    expect(error).toBeInstanceOf(SockshardError);
    expect(error).toMatchObject({ code: 'ERR_RING_RECORD_TOO_LARGE', length: 505, maxRecord: 504 });
    expect(() => producer.write(new Uint8Array(100_000))).toThrow(RangeError);
    expect(() => producer.claim(-1)).toThrow(RangeError);
    expect(() => producer.claim(1.5)).toThrow(RangeError);
    expect(() => producer.claim(1, 255)).toThrow(/type/);
  });

  it('honours a configured maxRecord below the ring limit', () => {
    const { producer } = pair(1024, 100);
    expect(producer.claim(100)).toBeGreaterThanOrEqual(0);
    expect(() => producer.claim(101)).toThrow(RingRecordTooLargeError);
  });

  it('drains at most max records per call, in order', () => {
    const { producer, consumer } = pair(1024);
    for (let i = 0; i < 10; i++) producer.stage(bytesOf(3, i), i);
    producer.commit();
    const types: number[] = [];
    expect(consumer.drain((_b, _o, _l, type) => types.push(type), 4)).toBe(4);
    expect(consumer.drain((_b, _o, _l, type) => types.push(type), 4)).toBe(4);
    expect(consumer.drain((_b, _o, _l, type) => types.push(type))).toBe(2);
    expect(types).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('releases the records a throwing handler saw, and no more', () => {
    const { producer, consumer } = pair(1024);
    for (let i = 0; i < 5; i++) producer.stage(bytesOf(1, i), i);
    producer.commit();
    expect(() =>
      consumer.drain((_b, _o, _l, type) => {
        if (type === 2) throw new Error('poisoned');
      }),
    ).toThrow('poisoned');
    expect(drainAll(consumer).map((r) => r.type)).toEqual([3, 4]);
  });

  it('keeps peek and release in step', () => {
    const { producer, consumer } = pair(256);
    producer.write(bytesOf(5, 1), 1);
    producer.write(bytesOf(6, 2), 2);
    expect(consumer.peek()?.type).toBe(1);
    expect(consumer.peek()?.type).toBe(1); // peek again without release: the same record
    expect(() => consumer.drain(() => {})).toThrow(RingStateError);
    consumer.release();
    expect(consumer.peek()?.data.length).toBe(6);
    consumer.release();
    expect(() => consumer.release()).toThrow(RingStateError);
  });

  it('exposes zero-copy views over the shared buffer', () => {
    const { buffer, producer, consumer } = pair(256);
    const view = producer.reserve(8);
    expect(view?.buffer).toBe(buffer);
    view?.set([1, 2, 3, 4, 5, 6, 7, 8]);
    producer.commit();
    const record = consumer.peek();
    expect(record?.data.buffer).toBe(buffer);
    expect([...(record?.data ?? [])]).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('counts records and bytes on both sides', () => {
    const { buffer, producer, consumer } = pair(1024);
    for (let i = 0; i < 7; i++) producer.stage(bytesOf(i, i));
    producer.commit();
    expect(readRingStats(buffer)).toMatchObject({ recordsIn: 7, bytesIn: 21, recordsOut: 0, bytesOut: 0 });
    expect(readRingStats(buffer).usedBytes).toBeGreaterThan(0);
    consumer.drain(() => {});
    expect(readRingStats(buffer)).toMatchObject({ recordsOut: 7, bytesOut: 21, usedBytes: 0 });
  });

  it('survives many laps of the region with mixed sizes', () => {
    const { producer, consumer } = pair(256);
    let next = 0;
    let expected = 0;
    for (let step = 0; step < 20_000; step++) {
      const length = (step * 7919) % 120;
      if (producer.stage(bytesOf(length, next), next % 255)) next++;
      if (step % 3 === 0) producer.commit();
      if (step % 5 === 0) {
        consumer.drain((bytes, offset, len, type) => {
          expect(type).toBe(expected % 255);
          expect([...bytes.subarray(offset, offset + len)]).toEqual([...bytesOf(len, expected)]);
          expected++;
        });
      }
    }
    producer.commit();
    consumer.drain(() => expected++);
    expect(expected).toBe(next);
    expect(next).toBeGreaterThan(5_000);
  });
});
