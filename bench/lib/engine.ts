import { setTimeout as delay } from 'node:timers/promises';
import type { Engine } from '../../src/index.js';

/**
 * Resolves once the engine's spare shard worker stands by, so that its start-up, a core's worth of work
 * for a few hundred ms, is not measured as part of the server's load. Throws after 10 s rather than let
 * a benchmark measure an engine that is still starting one.
 */
export async function spareStandingBy(engine: Engine): Promise<void> {
  const deadline = performance.now() + 10_000;
  while (!engine.stats().spareStandingBy) {
    if (performance.now() > deadline) throw new Error('no spare shard worker stood by within 10 s');
    await delay(10);
  }
}
