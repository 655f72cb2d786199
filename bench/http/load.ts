/**
 * The HTTP load generator, one process per measurement: wrk (C, an epoll loop per thread, so that the
 * generator is not what limits a fast server), with the job in argv (JSON). It first checks the contender's
 * answer with one request of the job (status and body), then runs the very same load as a warm-up, prints
 * `{"phase":"measure"}` when the measured run starts (the orchestrator starts its CPU meters then), then
 * one line of results. With `Connection: close` wrk opens a new connection for every request once the
 * server has closed the last one, so churn counts connections. wrk's CPU is measured as this process's
 * waited-for children's (runTool). Latency is wrk's own histogram (µs), for keep-alive only.
 */
import { request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { runTool } from '../lib/children.js';

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
  /** Responses with a status below 400 (wrk's count); none if the probe got a wrong answer. */
  readonly ok: number;
  readonly problems: Readonly<Record<string, number>>;
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  /** wrk's CPU (every thread) during the measured run. */
  readonly cpuSeconds: number;
}

interface WrkSummary {
  readonly requests: number;
  readonly durationUs: number;
  readonly connect: number;
  readonly read: number;
  readonly write: number;
  readonly status: number;
  readonly timeout: number;
  readonly p50Us: number;
  readonly p99Us: number;
}

const SCRIPT = fileURLToPath(new URL('./wrk-summary.lua', import.meta.url));

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

async function wrk(job: LoadJob, seconds: number) {
  const headers = Object.entries(job.headers).flatMap(([name, value]) => ['-H', `${name}: ${value}`]);
  const run = await runTool('wrk', [
    `-t${job.threads}`,
    `-c${job.connections}`,
    `-d${seconds}s`,
    '--timeout',
    '10s',
    '-s',
    SCRIPT,
    ...headers,
    job.url,
  ]);
  const line = run.stdout.split('\n').find((text) => text.startsWith('{"requests"'));
  if (line === undefined) throw new Error(`wrk printed no summary:\n${run.stdout}`);
  return { ...run, summary: JSON.parse(line) as WrkSummary };
}

const job = JSON.parse(process.argv[2]!) as LoadJob;
const wrong = await probe(job);
if (job.warmupSeconds > 0) await wrk(job, job.warmupSeconds);
console.log(JSON.stringify({ phase: 'measure' }));
const { summary, cpuSeconds } = await wrk(job, job.seconds);
const problems = Object.fromEntries(
  Object.entries({
    wrongAnswer: wrong === null ? 0 : 1,
    status: summary.status,
    connect: summary.connect,
    read: summary.read,
    write: summary.write,
    timeouts: summary.timeout,
  }).filter(([, count]) => count > 0),
);
if (wrong !== null)
  console.error(`[load] the probe request got ${wrong}, not ${JSON.stringify(job.expectBody)}`);
const outcome: LoadResult = {
  seconds: summary.durationUs / 1e6,
  ok: wrong === null ? summary.requests - summary.status : 0,
  problems,
  p50Ms: job.latency ? summary.p50Us / 1000 : null,
  p99Ms: job.latency ? summary.p99Us / 1000 : null,
  cpuSeconds,
};
console.log(JSON.stringify(outcome));
