/**
 * bench:tls's HTTP/2 load generator, one process per measurement: h2load (nghttp2-client, C) over TLS with
 * ALPN h2, `clients` connections each keeping `streams` requests in flight, with the job in argv (JSON).
 * Like bench/http/load.ts: one request first checks the server's answer (node:http2), then the same load
 * as a warm-up, `{"phase":"measure"}`, the measured run, and one line of results; h2load's CPU is this
 * process's waited-for children's (runTool).
 */
import { connect } from 'node:http2';
import { HELLO_BODY } from '../http/app.js';
import { runTool } from '../lib/children.js';

export interface H2Job {
  readonly port: number;
  readonly clients: number;
  readonly streams: number;
  readonly threads: number;
  readonly seconds: number;
  readonly warmupSeconds: number;
}

export interface H2Result {
  readonly seconds: number;
  /** Requests answered 2xx. */
  readonly ok: number;
  readonly problems: Readonly<Record<string, number>>;
  readonly cpuSeconds: number;
}

/** One request over HTTP/2: does the server answer 200 with the expected body? */
function probe(port: number): Promise<string | null> {
  return new Promise((resolve) => {
    const session = connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false });
    session.on('error', (error) => resolve(error.message));
    const stream = session.request({ ':path': '/' });
    let status = 0;
    let body = '';
    stream.on('response', (headers) => {
      status = Number(headers[':status']);
    });
    stream.setEncoding('utf8').on('data', (chunk: string) => {
      body += chunk;
    });
    stream.on('error', (error) => resolve(error.message));
    stream.on('end', () => {
      session.close();
      resolve(
        status !== 200 ? `status ${status}` : body !== HELLO_BODY ? `body ${JSON.stringify(body)}` : null,
      );
    });
    stream.end();
  });
}

async function h2load(job: H2Job, seconds: number) {
  const run = await runTool('h2load', [
    `-c${job.clients}`,
    `-m${job.streams}`,
    `-t${job.threads}`,
    `-D${seconds}`,
    `https://127.0.0.1:${job.port}/`,
  ]);
  const field = (pattern: RegExp) => {
    const match = pattern.exec(run.stdout);
    if (match === null) throw new Error(`h2load printed no ${pattern.source}:\n${run.stdout}`);
    return Number(match[1]);
  };
  return {
    cpuSeconds: run.cpuSeconds,
    seconds: field(/finished in ([\d.]+)s/),
    succeeded: field(/(\d+) succeeded/),
    failed: field(/(\d+) failed/),
    errored: field(/(\d+) errored/),
    timeout: field(/(\d+) timeout/),
    // h2load's "succeeded" counts 2xx and 3xx answers.
    status3xx: field(/(\d+) 3xx/),
    non2xx: field(/(\d+) 3xx/) + field(/(\d+) 4xx/) + field(/(\d+) 5xx/),
  };
}

const job = JSON.parse(process.argv[2]!) as H2Job;
const wrong = await probe(job.port);
if (wrong !== null)
  console.error(`[h2load] the probe request got ${wrong}, not ${JSON.stringify(HELLO_BODY)}`);
if (job.warmupSeconds > 0) await h2load(job, job.warmupSeconds);
console.log(JSON.stringify({ phase: 'measure' }));
const run = await h2load(job, job.seconds);
const outcome: H2Result = {
  seconds: run.seconds,
  ok: wrong === null ? run.succeeded - run.status3xx : 0,
  problems: Object.fromEntries(
    Object.entries({
      wrongAnswer: wrong === null ? 0 : 1,
      failed: run.failed,
      errored: run.errored,
      timeout: run.timeout,
      non2xx: run.non2xx,
    }).filter(([, count]) => count > 0),
  ),
  cpuSeconds: run.cpuSeconds,
};
console.log(JSON.stringify(outcome));
