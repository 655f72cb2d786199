import type { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { startWorker } from '../../src/engine/start-worker.js';
import { createRing, readRingStats } from '../../src/ring/index.js';
import { workerExit } from '../helpers/worker-exit.js';

const COUNT = 500_000;
const workers: Worker[] = [];
afterEach(() => Promise.all(workers.splice(0).map((worker) => worker.terminate())));

function end(role: 'producer' | 'consumer', ring: SharedArrayBuffer): Promise<[number, number]> {
  const worker = startWorker(new URL('../fixtures/ring-word-copy-worker.ts', import.meta.url), {
    workerData: { role, ring, count: COUNT, seed: 7 },
  });
  workers.push(worker);
  const moved = new Promise<number>((resolve) => worker.once('message', resolve));
  return Promise.all([moved, workerExit(worker)]);
}

describe('ring copy paths under two threads', () => {
  it(`stages ${COUNT.toLocaleString('en')} records of 0..4096 bytes from one scratch buffer and copies each out, every byte checked`, async () => {
    const ring = createRing({ capacity: 1 << 14 });
    const [produced, consumed] = await Promise.all([end('producer', ring), end('consumer', ring)]);
    expect(produced).toEqual([COUNT, 0]);
    expect(consumed).toEqual([COUNT, 0]);
    expect(readRingStats(ring)).toMatchObject({ recordsIn: COUNT, recordsOut: COUNT, usedBytes: 0 });
  }, 120_000);
});
