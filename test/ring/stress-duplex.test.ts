import type { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { startWorker } from '../../src/engine/start-worker.js';
import { createRing, readRingStats } from '../../src/ring/index.js';
import { HEAD, TAIL } from '../../src/ring/layout.js';
import { workerExit } from '../helpers/worker-exit.js';

interface DuplexResult {
  sent: number;
  received: number;
  bytes: number;
  ms: number;
  waits: { forRoom: number; forData: number };
}

/** Far beyond any wake-up under load; reached only if a notify was lost. */
const DEADLINE_MS = 5_000;
const workers: Worker[] = [];
// A failed check ends one side; the other would wait for it until its deadline.
afterEach(() => Promise.all(workers.splice(0).map((worker) => worker.terminate())));

async function runEnd(data: object): Promise<DuplexResult> {
  const worker = startWorker(new URL('../fixtures/ring-duplex-worker.ts', import.meta.url), {
    workerData: data,
  });
  workers.push(worker);
  const result = new Promise<DuplexResult>((resolve) => worker.once('message', resolve));
  expect(await workerExit(worker)).toBe(0);
  return result;
}

/** Runs both ends: a sends on aToB and receives on bToA, b the other way round. */
function duplex(aToB: SharedArrayBuffer, bToA: SharedArrayBuffer, settings: object) {
  return Promise.all([
    runEnd({ ...settings, out: aToB, in: bToA, sendSeed: 1, receiveSeed: 2, waitSeed: 3 }),
    runEnd({ ...settings, out: bToA, in: aToB, sendSeed: 2, receiveSeed: 1, waitSeed: 4 }),
  ]);
}

describe('ring under two threads', () => {
  const COUNT = 10_000_000;
  it(`moves ${COUNT.toLocaleString('en')} checked records of 0..4096 bytes each way at once`, async () => {
    const aToB = createRing({ capacity: 1 << 16 });
    const bToA = createRing({ capacity: 1 << 16 });
    const [a, b] = await duplex(aToB, bToA, {
      count: COUNT,
      receiveBatch: 256,
      spinMicros: 20,
      deadlineMs: DEADLINE_MS,
    });
    for (const end of [a, b]) expect(end).toMatchObject({ sent: COUNT, received: COUNT });
    for (const ring of [aToB, bToA]) {
      const stats = readRingStats(ring);
      expect(stats).toMatchObject({ recordsIn: COUNT, recordsOut: COUNT, usedBytes: 0 });
      expect(stats.bytesIn).toBe(stats.bytesOut);
    }
    expect(readRingStats(aToB).bytesOut).toBe(b.bytes);
    console.info(
      `duplex: ${((a.bytes + b.bytes) / 2 ** 30).toFixed(1)} GiB checked in ${Math.max(a.ms, b.ms).toFixed(0)} ms`,
    );
  }, 120_000);

  const SMALL = 1_000_000;
  it(`parks both ways, on full rings and empty ones, across 2^32, with a deadline per wait (${SMALL.toLocaleString('en')} records)`, async () => {
    // Small rings drained in small bites fill often; indices seeded just below 2^32 wrap while the
    // threads race, not only in a one-thread unit test.
    const rings = [createRing({ capacity: 1 << 14 }), createRing({ capacity: 1 << 14 })] as const;
    const START = 2 ** 32 - 3_000;
    for (const ring of rings) {
      const control = new Int32Array(ring);
      Atomics.store(control, HEAD, START | 0);
      Atomics.store(control, TAIL, START | 0);
    }
    const ends = await duplex(rings[0], rings[1], {
      count: SMALL,
      receiveBatch: 8,
      spinMicros: 0,
      deadlineMs: DEADLINE_MS,
    });
    for (const end of ends) {
      expect(end).toMatchObject({ sent: SMALL, received: SMALL });
      expect(end.waits.forRoom).toBeGreaterThan(0);
      expect(end.waits.forData).toBeGreaterThan(0);
    }
    for (const ring of rings) {
      const stats = readRingStats(ring);
      expect(stats).toMatchObject({ recordsIn: SMALL, recordsOut: SMALL, usedBytes: 0 });
      // The producer found the ring full and parked for room, the consumer found it empty and parked for
      // data, and every park was ended by the other side's notify (none reached its deadline).
      // (About 13,000 parks of each kind per ring here; 100 is far from "hardly any".)
      expect(stats.fullEvents).toBeGreaterThan(100);
      expect(stats.producerParks).toBeGreaterThan(100);
      expect(stats.consumerParks).toBeGreaterThan(100);
      expect(stats.producerWakeups).toBeGreaterThanOrEqual(stats.producerParks);
      expect(stats.consumerWakeups).toBeGreaterThanOrEqual(stats.consumerParks);
      // The indices wrapped past 2^32 (and ended below where they started).
      const head = Atomics.load(new Int32Array(ring), HEAD) >>> 0;
      expect(head).toBeLessThan(START);
    }
    console.info(`duplex across 2^32: ${JSON.stringify(rings.map((ring) => readRingStats(ring)))}`);
  }, 120_000);
});
