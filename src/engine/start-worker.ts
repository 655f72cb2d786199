import { Worker, type WorkerOptions } from 'node:worker_threads';
import { tsxFor } from '../typescript-modules.js';

/**
 * Starts a Worker on a module URL, always from a small script that imports it: a module worker whose entry
 * is still awaiting at its top level when the worker ends (every shard, at `engine.close()`) makes Node 24
 * and 26 print "Warning: Detected unsettled top-level await"; a script's `import()` has no top level to
 * wait on. A TypeScript module (sockshard's own sources, in tests and benchmarks) needs tsx, so the
 * script registers tsx's loader first (see typescript-modules.ts).
 */
export function startWorker(module: URL, options: WorkerOptions = {}): Worker {
  const tsx = tsxFor(module);
  const entry = `import(${JSON.stringify(module.href)})`;
  const code =
    tsx === undefined
      ? entry
      : `import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return ${entry}; })`;
  return new Worker(code, { ...options, eval: true });
}

/** The URL of a sibling module of `base` with the same extension (`.ts` from sources, `.js` from dist). */
export function siblingModule(relative: string, base: string): URL {
  const extension = base.endsWith('.ts') ? '.ts' : '.js';
  return new URL(relative.replace(/\.js$/, extension), base);
}
