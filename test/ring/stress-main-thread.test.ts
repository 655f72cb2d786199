import { describe, expect, it } from 'vitest';
import { startWorker } from '../../src/engine/start-worker.js';
import { createRing, RingConsumer, readRingStats } from '../../src/ring/index.js';
import { TrafficReceiver } from '../fixtures/ring-traffic.js';
import { workerExit } from '../helpers/worker-exit.js';

const COUNT = 1_000_000;
const BURST = 250;

describe('ring consumed on the main thread with waitAsync', () => {
  it('checks every record of a bursty producer, parking and waking thousands of times', async () => {
    // A small ring, so that the producer also fills it and parks inside bursts.
    const ring = createRing({ capacity: 1 << 14 });
    const worker = startWorker(new URL('../fixtures/ring-burst-producer.ts', import.meta.url), {
      workerData: { ring, count: COUNT, seed: 7, burst: BURST, pauseMicros: 200 },
    });
    const exited = workerExit(worker);
    const consumer = new RingConsumer(ring);
    const receiver = new TrafficReceiver(consumer, 7);
    let loopTurns = 0;
    const ticker = setInterval(() => loopTurns++, 1);
    try {
      while (receiver.received < COUNT) {
        if (receiver.receive(512) === 0) {
          expect(await consumer.waitForData({ timeoutMs: 10_000 })).toBe(true);
        }
      }
    } finally {
      clearInterval(ticker);
    }
    expect(await exited).toBe(0);
    const stats = readRingStats(ring);
    expect(stats).toMatchObject({ recordsIn: COUNT, recordsOut: COUNT, usedBytes: 0 });
    expect(stats.consumerParks).toBeGreaterThan(1_000);
    expect(stats.consumerWakeups).toBeGreaterThan(1_000);
    expect(stats.producerParks).toBeGreaterThan(0);
    expect(stats.producerWakeups).toBeGreaterThan(0);
    // The event loop kept turning while the consumer waited.
    expect(loopTurns).toBeGreaterThan(10);
    console.info(`main-thread consumer: ${JSON.stringify(stats)}`);
  }, 60_000);
});
