import { Worker, type WorkerOptions } from 'node:worker_threads';
import { workerTypeScriptLoader } from '../typescript-modules.js';

/**
 * Starts a Worker on a module URL, always from a small script that imports it: a module worker whose entry
 * is still awaiting at its top level when the worker ends (every shard, at `engine.close()`) makes Node 24
 * and 26 print "Warning: Detected unsettled top-level await"; a script's `import()` has no top level to
 * wait on. Where shards need tsx to load TypeScript (sockshard run from its sources, in tests and
 * benchmarks; or a program run under tsx on a Node that does not strip types: see typescript-modules.ts),
 * the script registers tsx's loader first.
 */
export function startWorker(module: URL, options: WorkerOptions = {}): Worker {
  const tsx = workerTypeScriptLoader(module);
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
