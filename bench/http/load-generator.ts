/**
 * The load generator: autocannon, in a process of its own so that it never shares an event loop with a
 * server. It runs one job at a time, as the orchestrator sends them, with the same settings for every
 * contender, and reports what autocannon counted plus its own CPU time.
 *
 * Latency comes from autocannon's per-response times (a float in ms, measured with process.hrtime): its own
 * histogram keeps whole milliseconds only, too coarse for a loopback hello world.
 */
import autocannon from 'autocannon';
import { percentile } from '../lib/report.js';
import type { GeneratorMessage, LatencySummary, LoadJob, LoadResult } from './protocol.js';

/** Per-request timeout: long enough never to fire on a healthy server, short enough to bound a stuck run. */
const REQUEST_TIMEOUT_SECONDS = 10;
/** autocannon checks its deadline on each sample tick: a short tick keeps runs close to their duration. */
const SAMPLE_INTERVAL_MS = 100;

/** A growable list of doubles (a hello-world run can produce a few hundred thousand samples). */
class Samples {
  #values = new Float64Array(1 << 16);
  #length = 0;

  push(value: number): void {
    if (this.#length === this.#values.length) {
      const bigger = new Float64Array(this.#values.length * 2);
      bigger.set(this.#values);
      this.#values = bigger;
    }
    this.#values[this.#length++] = value;
  }

  summary(): LatencySummary | null {
    if (this.#length === 0) return null;
    const sorted = this.#values.slice(0, this.#length).sort();
    let sum = 0;
    for (const value of sorted) sum += value;
    return {
      p50: percentile(sorted, 50),
      p99: percentile(sorted, 99),
      mean: sum / sorted.length,
      max: sorted[sorted.length - 1]!,
      count: sorted.length,
    };
  }
}

async function load(job: LoadJob): Promise<LoadResult> {
  const latencies = new Samples();
  const cpuBefore = process.cpuUsage();
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: job.url,
        connections: job.connections,
        duration: job.durationSeconds,
        pipelining: 1,
        timeout: REQUEST_TIMEOUT_SECONDS,
        sampleInt: SAMPLE_INTERVAL_MS,
        headers: { ...job.headers },
        expectBody: job.expectBody,
      },
      (error, result) => (error === null ? resolve(result) : reject(error)),
    );
    if (job.recordLatency) {
      instance.on('response', (_client: unknown, statusCode: number, _bytes: number, ms: number) => {
        if (statusCode >= 200 && statusCode < 300) latencies.push(ms);
      });
    }
  });
  const cpu = process.cpuUsage(cpuBefore);
  return {
    type: 'result',
    durationSeconds: result.duration,
    ok: result['2xx'],
    completed: result.requests.total,
    sent: result.requests.sent,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    mismatches: result.mismatches,
    latencyMs: latencies.summary(),
    autocannonLatencyMs: { p50: result.latency.p50, p99: result.latency.p99, mean: result.latency.mean },
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
  };
}

function send(message: GeneratorMessage): void {
  process.send!(message);
}

if (process.send === undefined) throw new Error('run this file from bench/http.ts (it needs an IPC channel)');
process.on('disconnect', () => process.exit(1));
process.on('message', (job: LoadJob) => {
  load(job).then(send, (error: unknown) =>
    send({
      type: 'failed',
      message: error instanceof Error ? (error.stack ?? error.message) : String(error),
    }),
  );
});
send({ type: 'ready' });
