import { describe, expect, it } from 'vitest';
import { createRing, RingConsumer, RingProducer, readRingStats } from '../../src/ring/index.js';
import { HEAD, TAIL } from '../../src/ring/layout.js';

/** A ring whose indices start just below `start` (as if it had carried that many bytes already). */
function advancedPair(start: number) {
  const buffer = createRing({ capacity: 256 });
  const control = new Int32Array(buffer);
  Atomics.store(control, HEAD, start | 0);
  Atomics.store(control, TAIL, start | 0);
  return { buffer, producer: new RingProducer(buffer), consumer: new RingConsumer(buffer) };
}

describe('ring indices past 2^31 and 2^32', () => {
  it.each([
    ['2^31', 2 ** 31 - 100],
    ['2^32', 2 ** 32 - 100],
    ['2^32 at an odd position', 2 ** 32 - 36],
  ])('carries records across %s without loss or reordering', (_name, start) => {
    const { buffer, producer, consumer } = advancedPair(start);
    let written = 0;
    let read = 0;
    for (let step = 0; step < 2_000; step++) {
      const length = (step * 13) % 90;
      const data = Uint8Array.from({ length }, (_, i) => (written + i) & 0xff);
      if (producer.write(data, written % 255)) written++;
      consumer.drain((bytes, offset, len, type) => {
        expect(type).toBe(read % 255);
        for (let i = 0; i < len; i++) expect(bytes[offset + i]).toBe((read + i) & 0xff);
        read++;
      });
    }
    expect(read).toBe(written);
    expect(written).toBe(2_000);
    const stats = readRingStats(buffer);
    expect(stats.usedBytes).toBe(0);
    expect(stats.recordsOut).toBe(2_000);
    // The indices really did wrap past the boundary we started below.
    const head = Atomics.load(new Int32Array(buffer), HEAD) >>> 0;
    expect(head).not.toBe(start);
    if (start > 2 ** 31) expect(head).toBeLessThan(start);
  });

  it('sees a full ring as full when the indices straddle 2^32', () => {
    const { producer, consumer } = advancedPair(2 ** 32 - 16);
    let records = 0;
    while (producer.write(new Uint8Array(8))) records++;
    expect(records).toBe(16); // 256 bytes / 16 per record
    expect(consumer.drain(() => {})).toBe(16);
    expect(producer.write(new Uint8Array(8))).toBe(true);
  });
});
