import type { Engine } from '../../src/index.js';

/**
 * Resolves once the engine's spare shard worker stands by (bounded: 10 s), so that its start-up, a core's
 * worth of work for a few hundred ms, is not measured as part of the server's load.
 */
export async function spareStandingBy(engine: Engine): Promise<void> {
  const deadline = performance.now() + 10_000;
  while (!engine.stats().spareStandingBy && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
