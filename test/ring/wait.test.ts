import { afterEach, describe, expect, it } from 'vitest';
import { createRing, RingConsumer, RingProducer, readRingStats } from '../../src/ring/index.js';

const timers: NodeJS.Timeout[] = [];
afterEach(() => {
  for (const timer of timers.splice(0)) clearTimeout(timer);
});
const later = (ms: number, fn: () => void) => timers.push(setTimeout(fn, ms));

describe('ring waits', () => {
  it('parks the consumer with waitAsync and wakes it on commit, without blocking the loop', async () => {
    const buffer = createRing({ capacity: 1024 });
    const producer = new RingProducer(buffer);
    const consumer = new RingConsumer(buffer);
    let loopTicks = 0;
    const ticker = setInterval(() => loopTicks++, 1);
    later(30, () => producer.write(Uint8Array.of(42)));
    await expect(consumer.waitForData()).resolves.toBe(true);
    clearInterval(ticker);
    expect(loopTicks).toBeGreaterThan(3);
    expect(consumer.peek()?.data[0]).toBe(42);
    const stats = readRingStats(buffer);
    expect(stats.consumerParks).toBe(1);
    expect(stats.consumerWakeups).toBe(1);
  });

  it('does not park or notify when data is already there', async () => {
    const buffer = createRing({ capacity: 1024 });
    new RingProducer(buffer).write(Uint8Array.of(1));
    await expect(new RingConsumer(buffer).waitForData()).resolves.toBe(true);
    expect(readRingStats(buffer)).toMatchObject({ consumerParks: 0, consumerWakeups: 0 });
  });

  it('times out with false and leaves no parked flag behind', async () => {
    const buffer = createRing({ capacity: 1024 });
    const producer = new RingProducer(buffer);
    const consumer = new RingConsumer(buffer);
    await expect(consumer.waitForData({ timeoutMs: 20 })).resolves.toBe(false);
    expect(consumer.waitForDataSync({ timeoutMs: 5, spinMicros: 50 })).toBe(false);
    producer.write(Uint8Array.of(1));
    expect(readRingStats(buffer).consumerWakeups).toBe(0); // nobody was parked any more
  });

  it('finds data by spinning or yielding before it parks', async () => {
    const buffer = createRing({ capacity: 1024 });
    const producer = new RingProducer(buffer);
    const consumer = new RingConsumer(buffer);
    setImmediate(() => producer.write(Uint8Array.of(7)));
    await expect(consumer.waitForData({ yieldRounds: 5 })).resolves.toBe(true);
    expect(readRingStats(buffer).consumerParks).toBe(0);
  });

  it('parks a producer on a full ring until the consumer releases room', async () => {
    const buffer = createRing({ capacity: 64 });
    const producer = new RingProducer(buffer);
    const consumer = new RingConsumer(buffer);
    while (producer.stage(new Uint8Array(12)));
    expect(producer.hasRoomFor(12)).toBe(false);
    later(20, () => consumer.drain(() => {}, 1));
    await expect(producer.waitForRoom(12)).resolves.toBe(true);
    expect(producer.write(new Uint8Array(12))).toBe(true);
    expect(readRingStats(buffer)).toMatchObject({ producerParks: 1, producerWakeups: 1 });
    await expect(producer.waitForRoom(12, { timeoutMs: 10 })).resolves.toBe(false);
    expect(producer.waitForRoomSync(12, { timeoutMs: 5 })).toBe(false);
    expect(() => producer.waitForRoomSync(1000)).toThrow(RangeError);
  });
});
