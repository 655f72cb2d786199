/**
 * The HTTP load generator, one process per measurement: wrk (bench/lib/wrk.ts: C, an epoll loop per
 * thread, so that the generator is not what limits a fast server; every response that is not 2xx and
 * every socket error counted), with the job in argv (JSON). It first checks the contender's answer with
 * one request of the job (status and body), then runs the very same load as a warm-up, prints
 * `{"phase":"measure"}` when the measured run starts (the orchestrator starts its CPU meters then), then
 * one line of results. With `Connection: close` wrk opens a new connection for every request once the
 * server has closed the last one, so churn counts connections.
 */
import { request } from 'node:http';
import { runWrk } from '../lib/wrk.js';

export interface LoadJob {
  readonly url: string;
  readonly connections: number;
  /** wrk's threads (each its own event loop). */
  readonly threads: number;
  readonly seconds: number;
  readonly warmupSeconds: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly expectBody: string;
  /** Keep-alive only: with `Connection: close` a response time includes a connect. */
  readonly latency: boolean;
}

export interface LoadResult {
  readonly seconds: number;
  /** 2xx responses; none if the probe got a wrong answer. */
  readonly ok: number;
  readonly problems: Readonly<Record<string, number>>;
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  /** wrk's CPU (every thread) during the measured run. */
  readonly cpuSeconds: number;
}

/** One request as the job makes them: does the contender answer 200 with the expected body? */
function probe(job: LoadJob): Promise<string | null> {
  return new Promise((resolve) => {
    const req = request(job.url, { headers: job.headers, agent: false }, (response) => {
      let body = '';
      response.setEncoding('utf8').on('data', (chunk: string) => {
        body += chunk;
      });
      response.on('end', () =>
        resolve(
          response.statusCode !== 200
            ? `status ${response.statusCode}`
            : body !== job.expectBody
              ? `body ${JSON.stringify(body.slice(0, 80))}`
              : null,
        ),
      );
    });
    req.on('error', (error) => resolve(error.message));
    req.end();
  });
}

const job = JSON.parse(process.argv[2]!) as LoadJob;
const wrk = (seconds: number) =>
  runWrk({
    url: job.url,
    connections: job.connections,
    threads: job.threads,
    seconds,
    timeoutSeconds: 10,
    headers: job.headers,
  });
const wrong = await probe(job);
if (wrong !== null)
  console.error(`[load] the probe request got ${wrong}, not ${JSON.stringify(job.expectBody)}`);
if (job.warmupSeconds > 0) await wrk(job.warmupSeconds);
console.log(JSON.stringify({ phase: 'measure' }));
const result = await wrk(job.seconds);
const outcome: LoadResult = {
  seconds: result.seconds,
  ok: wrong === null ? result.ok : 0,
  problems: Object.fromEntries(
    Object.entries({ wrongAnswer: wrong === null ? 0 : 1, ...result.failures }).filter(([, n]) => n > 0),
  ),
  p50Ms: job.latency ? result.p50Ms : null,
  p99Ms: job.latency ? result.p99Ms : null,
  cpuSeconds: result.cpuSeconds,
};
console.log(JSON.stringify(outcome));
