import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { Piscina } from 'piscina';
import { OffloadError, OffloadTimeoutError } from '../errors.js';
import type { OffloadOptions } from '../handler.js';
import type { OffloadSettings } from '../protocol.js';
import { tsxFor } from '../typescript-modules.js';

/**
 * A shard's offload executor: a piscina pool for CPU-heavy work, so that the shard's event loop keeps
 * serving sockets while it runs (Netty's executor group next to its event loops). Each shard has its own
 * pool of `threadsPerShard` threads; the engine's `offload.threads` is shared out among the shards.
 */
export class OffloadPool {
  readonly #pool: Piscina;
  readonly #timeoutMs: number;

  constructor(settings: OffloadSettings) {
    this.#timeoutMs = settings.timeoutMs;
    this.#pool = new Piscina({
      filename: taskEntry(settings.module),
      minThreads: settings.threadsPerShard,
      maxThreads: settings.threadsPerShard,
      idleTimeout: 60_000,
      niceIncrement: settings.niceIncrement,
    });
  }

  async run<Input, Output>(input: Input, options: OffloadOptions = {}): Promise<Output> {
    const timeoutMs = options.timeoutMs ?? this.#timeoutMs;
    const abort = new AbortController();
    const timer = timeoutMs > 0 ? setTimeout(() => abort.abort(), timeoutMs) : undefined;
    try {
      return (await this.#pool.run(input, {
        signal: abort.signal,
        ...(options.transfer === undefined ? {} : { transferList: [...options.transfer] }),
      })) as Output;
    } catch (error) {
      if (abort.signal.aborted) throw new OffloadTimeoutError(timeoutMs);
      throw new OffloadError(error);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Threads running or idle, and tasks waiting. */
  get stats(): { threads: number; queued: number; completed: number } {
    return {
      threads: this.#pool.threads.length,
      queued: this.#pool.queueSize,
      completed: this.#pool.completed,
    };
  }

  close(): Promise<void> {
    return this.#pool.destroy();
  }
}

/**
 * The file piscina's threads load. A `.ts` task module that needs tsx (sockshard run from its sources, or a
 * program run under tsx on Node 20: see typescript-modules.ts) gets a small generated entry that registers
 * tsx's loader first, as startWorker does for shards; any other module is used as it is.
 */
function taskEntry(module: string): string {
  const tsx = tsxFor(module);
  if (tsx === undefined) return module;
  const source = [
    `import { register } from ${JSON.stringify(tsx)};`,
    'register();',
    `const task = await import(${JSON.stringify(module)});`,
    'export default task.default;',
    '',
  ].join('\n');
  const name = createHash('sha256').update(source).digest('hex').slice(0, 16);
  const file = join(os.tmpdir(), `sockshard-offload-${name}.mjs`);
  writeFileSync(file, source);
  return file;
}
