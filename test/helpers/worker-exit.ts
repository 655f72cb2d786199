import type { Worker } from 'node:worker_threads';

/** Resolves with the worker's exit code; rejects on an uncaught error in the worker. */
export function workerExit(worker: Worker): Promise<number> {
  return new Promise((resolve, reject) => {
    worker.once('error', reject);
    worker.once('exit', resolve);
  });
}
