import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * Starts a Worker on a module URL. A `.ts` module (sockshard run from its sources, in tests and benchmarks)
 * cannot be loaded by a Node 20 worker directly, so the worker first registers tsx's loader (a dev
 * dependency) and then imports it; a `.js` module (the published build) starts as a plain module worker.
 */
export function startWorker(module: URL, options: WorkerOptions = {}): Worker {
  if (!module.pathname.endsWith('.ts')) return new Worker(module, options);
  const code = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(module.href)}); })`;
  return new Worker(code, { ...options, eval: true });
}

/** The URL of a sibling module of `base` with the same extension (`.ts` from sources, `.js` from dist). */
export function siblingModule(relative: string, base: string): URL {
  const extension = base.endsWith('.ts') ? '.ts' : '.js';
  return new URL(relative.replace(/\.js$/, extension), base);
}
