import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * Starts a Worker on a TypeScript module. Node 20 workers cannot load .ts files themselves, so the worker
 * registers tsx's loader first, then imports the module.
 */
export function startTsWorker(module: URL, options: WorkerOptions = {}): Worker {
  const code = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(module.href)}); })`;
  return new Worker(code, { ...options, eval: true });
}

/** Resolves with the worker's exit code; rejects on an uncaught error in the worker. */
export function workerExit(worker: Worker): Promise<number> {
  return new Promise((resolve, reject) => {
    worker.once('error', reject);
    worker.once('exit', resolve);
  });
}
