import type { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { startWorker } from '../../src/engine/start-worker.js';
import { createRing, readRingStats } from '../../src/ring/index.js';
import { workerExit } from '../helpers/worker-exit.js';

const ROUNDS = 5_000;
/** Far beyond any wake-up under load; reached only if a notify was lost. */
const DEADLINE_MS = 5_000;

const workers: Worker[] = [];
// A failed wait ends one side; the other would wait for it until its own deadline.
afterEach(() => Promise.all(workers.splice(0).map((worker) => worker.terminate())));

function end(data: object): Promise<number> {
  const worker = startWorker(new URL('../fixtures/ring-ping-pong.ts', import.meta.url), { workerData: data });
  workers.push(worker);
  return workerExit(worker);
}

describe('ring wake-ups, one record outstanding, parking at once', () => {
  it.each(['sync', 'async'] as const)(
    `wakes the parked side every time over ${ROUNDS.toLocaleString('en')} round trips (%s waits)`,
    async (mode) => {
      const there = createRing({ capacity: 1024 });
      const back = createRing({ capacity: 1024 });
      const common = { mode, rounds: ROUNDS, deadlineMs: DEADLINE_MS };
      const exits = await Promise.all([
        end({ ...common, role: 'ping', out: there, in: back }),
        end({ ...common, role: 'pong', out: back, in: there }),
      ]);
      expect(exits).toEqual([0, 0]);
      for (const ring of [there, back]) {
        const stats = readRingStats(ring);
        expect(stats).toMatchObject({ recordsIn: ROUNDS, recordsOut: ROUNDS, usedBytes: 0 });
        // The other side has a thread to wake, a record to read and one to write before this side's record
        // arrives: most waits park (60-85% here), and each park was ended by a notify (none timed out).
        // Fewer than a tenth would mean the run hardly tested the wake-up at all.
        expect(stats.consumerParks).toBeGreaterThan(ROUNDS / 10);
        expect(stats.consumerWakeups).toBeGreaterThanOrEqual(stats.consumerParks);
      }
      const parks = [there, back].map((ring) => readRingStats(ring).consumerParks);
      console.info(`ping-pong (${mode}): ${parks.join(' and ')} parks in ${ROUNDS} rounds each way`);
    },
    60_000,
  );
});
