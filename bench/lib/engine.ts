/** What every benchmark server built on sockshard does before it is measured. */
import { setTimeout as delay } from 'node:timers/promises';
import type { Engine } from '../../src/index.js';

/**
 * Resolves once the engine's spare shard worker stands by, so that its start (a core's worth of work for
 * a few hundred ms) is not measured as the server's load. Throws after 10 s.
 */
export async function spareStandingBy(engine: Engine): Promise<void> {
  const deadline = performance.now() + 10_000;
  while (!engine.stats().spareStandingBy) {
    if (performance.now() > deadline) throw new Error('no spare shard worker stood by within 10 s');
    await delay(10);
  }
}

/** Starts `engine`, waits for its spare, and reports trouble (a shard's death is an error too) on stderr. */
export async function startEngine(engine: Engine): Promise<void> {
  engine.on('error', (error) => console.error(`[sockshard] engine error ${error.code}: ${error.message}`));
  engine.on('handler-error', (error) => console.error(`[sockshard] handler error: ${error.message}`));
  await engine.start();
  await spareStandingBy(engine);
}
