/**
 * The one application every HTTP contender serves, so that only the server differs: `GET /` answers
 * "hello world", `GET /cpu` first does a fixed amount of CPU work. The work is one `pbkdf2Sync` call with a
 * fixed iteration count (native code: a JavaScript loop's speed depends on how V8 inlines it into each
 * server's caller, which would be measured instead of the server), calibrated once by bench/http.ts and
 * passed to every server in SOCKSHARD_BENCH_CPU_ITERATIONS; the derived key is in the body, so the load
 * generator checks that every contender did the work.
 */
import { pbkdf2Sync } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { nanosPerCall } from '../lib/cpu.js';

export const CPU_ITERATIONS_ENV = 'SOCKSHARD_BENCH_CPU_ITERATIONS';
export const HELLO_PATH = '/';
export const CPU_PATH = '/cpu';
export const HELLO_BODY = 'hello world\n';

export function cpuBody(iterations: number): string {
  return `cpu ${pbkdf2Sync('sockshard', 'bench-http', iterations, 16, 'sha256').toString('hex')}\n`;
}

/** The iteration count that takes `targetMs` of CPU here (CPU time: what other processes do meanwhile does not count). */
export function calibrateCpuWork(targetMs: number): number {
  return Math.max(1, Math.round((1_000 * targetMs * 1e6) / nanosPerCall(() => cpuBody(1_000)).cpu));
}

/** The iteration count the benchmark calibrated, from the environment. */
export function iterationsFromEnv(): number {
  const iterations = Number(process.env[CPU_ITERATIONS_ENV]);
  if (!Number.isInteger(iterations) || iterations < 1) throw new Error(`${CPU_ITERATIONS_ENV} is not set`);
  return iterations;
}

/** The request listener, with the iteration count from the environment. */
export function appFromEnv(): (request: IncomingMessage, response: ServerResponse) => void {
  const iterations = iterationsFromEnv();
  return (request, response) => {
    const body =
      request.url === HELLO_PATH ? HELLO_BODY : request.url === CPU_PATH ? cpuBody(iterations) : null;
    if (body === null) {
      response.statusCode = 404;
      response.end();
      return;
    }
    response.setHeader('content-type', 'text/plain');
    response.end(body);
  };
}
