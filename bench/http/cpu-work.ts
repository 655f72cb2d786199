/**
 * The CPU-heavy handler's work: one `pbkdf2Sync` (SHA-256) call with a fixed iteration count per request.
 *
 * A fixed amount of work, not "spin until 0.2 ms passed", so that a server that is descheduled mid-request is
 * not rewarded with less work. Native code, not a JavaScript loop, because the speed of a hot JS loop depends
 * on how V8 compiles it into its caller: on Node 20 a loop that TurboFan inlines into a caller's try/catch
 * ran 3-4x slower here, and sockshard's shard calls `request()` inside one, while node:http does not; the
 * benchmark would then measure V8's inlining luck, not the server. The count is calibrated once, in the
 * orchestrator, and handed to every server; the derived key goes into the response body, so the load
 * generator checks that every contender really did the work.
 */
import { pbkdf2Sync } from 'node:crypto';
import { median } from '../lib/report.js';

export function cpuWork(iterations: number): string {
  return pbkdf2Sync('sockshard', 'bench-http', iterations, 16, 'sha256').toString('hex');
}

export interface CpuWorkCalibration {
  readonly iterations: number;
  readonly targetMs: number;
  /** Median time of `iterations`, measured after calibrating. */
  readonly measuredMs: number;
}

const PROBE_ITERATIONS = 1_000;

function time(iterations: number, samples: number): number {
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    const start = performance.now();
    cpuWork(iterations);
    times.push(performance.now() - start);
  }
  return median(times);
}

/** Finds the iteration count that takes `targetMs` on this machine. */
export function calibrateCpuWork(targetMs: number): CpuWorkCalibration {
  time(PROBE_ITERATIONS, 50);
  const probeMs = time(PROBE_ITERATIONS, 51);
  const iterations = Math.max(1, Math.round((PROBE_ITERATIONS * targetMs) / probeMs));
  return { iterations, targetMs, measuredMs: time(iterations, 51) };
}
