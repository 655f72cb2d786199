/**
 * HTTP keep-alive load from wrk (C, epoll; Debian package `wrk`), for benchmarks that must count every
 * failed request: wrk.lua counts each response that is not 2xx beside wrk's own socket errors (connect,
 * read, write, timeout), and reports wrk's latency percentiles and its own CPU. One process per run.
 */
import { fileURLToPath } from 'node:url';
import { Child } from './children.js';
import { TICKS_PER_SECOND } from './cpu.js';

const SCRIPT = fileURLToPath(new URL('./wrk.lua', import.meta.url));

export interface WrkJob {
  readonly url: string;
  readonly connections: number;
  readonly seconds: number;
  /** wrk threads (default 1: one event loop, as the other generators here). */
  readonly threads?: number;
  /** A request unanswered this long counts as a timeout (default 2). */
  readonly timeoutSeconds?: number;
}

export interface WrkResult {
  readonly seconds: number;
  /** Responses, every status. */
  readonly requests: number;
  /** 2xx responses. */
  readonly ok: number;
  /**
   * Every request that failed, by how wrk saw it: `non2xx`; `read`: a reset, or a close before the answer;
   * `write`: a refused connection too (wrk learns of it when it writes there, then tries again at once:
   * each attempt counts); `connect`: a connect() that failed at once; `timeout`.
   */
  readonly failures: Readonly<Record<'non2xx' | 'connect' | 'read' | 'write' | 'timeout', number>>;
  readonly failed: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** wrk's CPU over its whole run (every thread). */
  readonly cpuSeconds: number;
}

interface Printed {
  readonly requests: number;
  readonly durationUs: number;
  readonly non2xx: number;
  readonly connect: number;
  readonly read: number;
  readonly write: number;
  readonly timeout: number;
  readonly p50Us: number;
  readonly p99Us: number;
  readonly cpuTicks: number;
}

/** Runs wrk once; its own summary lines are dropped, the script's JSON line is parsed. */
export async function runWrk(job: WrkJob): Promise<WrkResult> {
  const timeout = job.timeoutSeconds ?? 2;
  const threads = job.threads ?? 1;
  const wrk = new Child('wrk', [
    'wrk',
    `--threads=${threads}`,
    `--connections=${job.connections}`,
    `--duration=${job.seconds}s`,
    `--timeout=${timeout}s`,
    `--script=${SCRIPT}`,
    job.url,
  ]);
  try {
    const printed = await wrk.json<Printed>((job.seconds + timeout + 30) * 1000, false);
    const failures = {
      non2xx: printed.non2xx,
      connect: printed.connect,
      read: printed.read,
      write: printed.write,
      timeout: printed.timeout,
    };
    return {
      seconds: printed.durationUs / 1e6,
      requests: printed.requests,
      ok: printed.requests - printed.non2xx,
      failures,
      failed: Object.values(failures).reduce((sum, count) => sum + count, 0),
      p50Ms: printed.p50Us / 1000,
      p99Ms: printed.p99Us / 1000,
      cpuSeconds: printed.cpuTicks / TICKS_PER_SECOND,
    };
  } finally {
    await wrk.stop();
  }
}
