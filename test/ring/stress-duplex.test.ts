import type { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { startWorker } from '../../src/engine/start-worker.js';
import { createRing, readRingStats } from '../../src/ring/index.js';
import { workerExit } from '../helpers/worker-exit.js';

interface DuplexResult {
  sent: number;
  received: number;
  bytes: number;
  ms: number;
}

const COUNT = 10_000_000;
const workers: Worker[] = [];
// A failed check ends one side; the other would wait for it for ever.
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

describe('ring under two threads', () => {
  it(`moves ${COUNT.toLocaleString('en')} checked records of 0..4096 bytes each way at once`, async () => {
    const aToB = createRing({ capacity: 1 << 16 });
    const bToA = createRing({ capacity: 1 << 16 });
    const [a, b] = await Promise.all([
      runEnd({ out: aToB, in: bToA, count: COUNT, sendSeed: 1, receiveSeed: 2 }),
      runEnd({ out: bToA, in: aToB, count: COUNT, sendSeed: 2, receiveSeed: 1 }),
    ]);
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
});
