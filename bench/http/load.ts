/**
 * The HTTP load generator, one process per measurement: autocannon 8 with the job in argv (JSON). It
 * first runs the very same load as a warm-up (for the server and for itself), prints `{"phase":"measure"}`
 * when the measured run starts (the orchestrator starts its CPU meters then), then one line of results.
 * Latency comes from autocannon's per-response times (measured with hrtime) in an HdrHistogram: its own
 * histogram keeps whole milliseconds, too coarse for a loopback hello world.
 */
import autocannon from 'autocannon';
import { Latencies } from '../lib/latency.js';

export interface LoadJob {
  readonly url: string;
  readonly connections: number;
  readonly seconds: number;
  readonly warmupSeconds: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly expectBody: string;
  /** Keep-alive only: with `Connection: close` a response time includes a connect. */
  readonly latency: boolean;
}

export interface LoadResult {
  readonly seconds: number;
  /** 2xx responses with the expected body. */
  readonly ok: number;
  readonly problems: Readonly<Record<string, number>>;
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  /** This process's CPU (every thread) during the measured run. */
  readonly cpuSeconds: number;
}

function run(job: LoadJob, seconds: number, latencies: Latencies | null): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: job.url,
        connections: job.connections,
        duration: seconds,
        pipelining: 1,
        timeout: 10,
        sampleInt: 100,
        headers: { ...job.headers },
        expectBody: job.expectBody,
      },
      (error, result) => (error === null ? resolve(result) : reject(error)),
    );
    if (latencies !== null) {
      instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
        if (status >= 200 && status < 300) latencies.recordMs(ms);
      });
    }
  });
}

const job = JSON.parse(process.argv[2]!) as LoadJob;
if (job.warmupSeconds > 0) await run(job, job.warmupSeconds, null);
console.log(JSON.stringify({ phase: 'measure' }));
const latencies = job.latency ? new Latencies() : null;
const cpu = process.cpuUsage();
const result = await run(job, job.seconds, latencies);
const used = process.cpuUsage(cpu);
const summary = latencies?.summaryMs() ?? null;
const problems = Object.fromEntries(
  Object.entries({
    non2xx: result.non2xx,
    // autocannon counts a timeout as an error too.
    errors: result.errors - result.timeouts,
    timeouts: result.timeouts,
    wrongBody: result.mismatches,
  }).filter(([, count]) => count > 0),
);
const outcome: LoadResult = {
  seconds: result.duration,
  ok: result['2xx'] - result.mismatches,
  problems,
  p50Ms: summary?.p50 ?? null,
  p99Ms: summary?.p99 ?? null,
  cpuSeconds: (used.user + used.system) / 1e6,
};
console.log(JSON.stringify(outcome));
