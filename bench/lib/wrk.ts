/**
 * HTTP load from wrk 4 (C, epoll; Debian package `wrk`), keep-alive or, with a `Connection: close` header,
 * a new connection per request (wrk reconnects once the server closes), for benchmarks that must count
 * every failed request: wrk.lua counts each response that is not 2xx beside wrk's own socket errors (connect,
 * read, write, timeout), reports the latency percentiles of the responses as measured (wrk's own are
 * "corrected" for coordinated omission: see wrk.lua) and wrk's own CPU. One process per run.
 */
import { fileURLToPath } from 'node:url';
import { Child } from './children.js';
import { TICKS_PER_SECOND } from './cpu.js';

const CONNECTIONS_ENV = 'SOCKSHARD_WRK_CONNECTIONS';

const SCRIPT = fileURLToPath(new URL('./wrk.lua', import.meta.url));

export interface WrkJob {
  readonly url: string;
  readonly connections: number;
  readonly seconds: number;
  /** wrk threads (default 1: one event loop, as the other generators here). */
  readonly threads?: number;
  /** A request unanswered this long counts as a timeout (default 2). */
  readonly timeoutSeconds?: number;
  /** Request headers (`{ connection: 'close' }`: connection churn). */
  readonly headers?: Readonly<Record<string, string>>;
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
  /** Response times as measured (not wrk's corrected ones), over every answer within the timeout. */
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
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
  readonly samples: number;
  readonly consistent: boolean;
  readonly p50Us: number;
  readonly p99Us: number;
  readonly maxUs: number;
  readonly cpuTicks: number;
}

/** Runs wrk once; its own summary lines are dropped, the script's JSON line is parsed. */
export async function runWrk(job: WrkJob): Promise<WrkResult> {
  const timeout = job.timeoutSeconds ?? 2;
  const threads = job.threads ?? 1;
  const wrk = new Child(
    'wrk',
    [
      'wrk',
      `--threads=${threads}`,
      `--connections=${job.connections}`,
      `--duration=${job.seconds}s`,
      `--timeout=${timeout}s`,
      `--script=${SCRIPT}`,
      ...Object.entries(job.headers ?? {}).flatMap(([name, value]) => ['--header', `${name}: ${value}`]),
      job.url,
    ],
    { env: { ...process.env, [CONNECTIONS_ENV]: String(job.connections) } },
  );
  try {
    const printed = await wrk.json<Printed>((job.seconds + timeout + 30) * 1000, false);
    // One sample per answer within the timeout: anything else means wrk's histogram is not what wrk.lua
    // reads (another layout, another correction), and its percentiles would be wrong.
    if (
      !printed.consistent ||
      printed.samples > printed.requests ||
      printed.samples < printed.requests - printed.timeout
    ) {
      throw new Error(
        `wrk's latency histogram does not add up (${printed.samples} samples for ${printed.requests} answers, ${printed.timeout} timeouts): is this wrk 4?`,
      );
    }
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
      maxMs: printed.maxUs / 1000,
      cpuSeconds: printed.cpuTicks / TICKS_PER_SECOND,
    };
  } finally {
    await wrk.stop();
  }
}
