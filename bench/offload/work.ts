/**
 * The CPU-heavy part of a request, the same code inline and offloaded: `iterations` rounds of SHA-256
 * over a 1 KiB block (calibrated by bench/offload.ts to about 5 ms, passed in the environment).
 */
import { createHash } from 'node:crypto';
import { registerThread } from '../lib/cpu.js';

const block = Buffer.alloc(1024, 7);
export const ITERATIONS_ENV = 'SOCKSHARD_BENCH_WORK_ITERATIONS';

export function work(iterations: number): string {
  let digest: Buffer = block;
  for (let i = 0; i < iterations; i++) digest = createHash('sha256').update(block).update(digest).digest();
  return digest.toString('hex', 0, 8);
}

export function iterationsFromEnv(): number {
  const iterations = Number(process.env[ITERATIONS_ENV]);
  if (!Number.isInteger(iterations) || iterations < 1) throw new Error(`${ITERATIONS_ENV} is not set`);
  return iterations;
}

let registered = false;
/** The offload task module: piscina runs this default export (in a pool thread, which says so once). */
export default function task(iterations: number): string {
  if (!registered) registerThread('pool');
  registered = true;
  return work(iterations);
}
