/**
 * bench:tls's handshake load generator, one process per measurement (no Debian tool makes TLS connections
 * concurrently, each one new, and says per connection whether it resumed): worker threads, each keeping
 * `perThread` connections in flight, each connection a new TCP and TLS connection (TLS 1.3, whatever the
 * server prefers) that sends one `GET /` with `Connection: close`, checks the answer and closes. With
 * `resume`, every connection offers the session ticket the loop's last connection received (it landed on
 * whichever shard or worker the server gave it), and counts whether the server resumed it.
 *
 * Like bench/http/load.ts: a warm-up with the same load, `{"phase":"measure"}` when the measured part
 * starts, then one line of results; CPU is this whole process's (every thread), the generator's.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { connect } from 'node:tls';
import { isMainThread, workerData } from 'node:worker_threads';
import { startWorker } from '../../src/engine/start-worker.js';
import { HELLO_BODY } from '../http/app.js';

export interface HandshakeJob {
  readonly port: number;
  readonly threads: number;
  /** Connections in flight per thread. */
  readonly perThread: number;
  readonly seconds: number;
  readonly warmupSeconds: number;
  /** Offer the last session ticket received on every connection. */
  readonly resume: boolean;
}

export interface HandshakeResult {
  readonly seconds: number;
  /** Connections that completed a handshake and got the expected answer. */
  readonly ok: number;
  /** Connections that offered a session ticket, and of those, the ones the server resumed. */
  readonly offered: number;
  readonly resumed: number;
  readonly problems: Readonly<Record<string, number>>;
  readonly cpuSeconds: number;
}

/** Per thread, in shared memory: what it has counted so far, and a stop flag. */
const COUNTERS = ['ok', 'offered', 'resumed', 'failed', 'wrongAnswer'] as const;
const STOP = COUNTERS.length;
const REQUEST = 'GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n';

type Counter = (typeof COUNTERS)[number];

function oneConnection(
  port: number,
  session: Buffer | undefined,
  count: (what: Counter) => void,
  /** Only when resuming: a 'session' listener makes Node encode every ticket received. */
  onSession: ((ticket: Buffer) => void) | undefined,
): Promise<void> {
  return new Promise((resolve) => {
    let answer = '';
    const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false, session }, () => {
      if (session !== undefined) {
        count('offered');
        if (socket.isSessionReused()) count('resumed');
      }
      socket.end(REQUEST);
    });
    socket.setEncoding('utf8');
    if (onSession !== undefined) socket.on('session', onSession);
    socket.on('data', (chunk: string) => {
      answer += chunk;
    });
    socket.on('error', () => {}); // counted at 'close'
    socket.on('close', (hadError) => {
      count(
        hadError || answer === ''
          ? 'failed'
          : answer.startsWith('HTTP/1.1 200') && answer.endsWith(`\r\n\r\n${HELLO_BODY}`)
            ? 'ok'
            : 'wrongAnswer',
      );
      resolve();
    });
  });
}

async function loop(job: HandshakeJob, counters: Int32Array): Promise<void> {
  const count = (what: Counter) => Atomics.add(counters, COUNTERS.indexOf(what), 1);
  let ticket: Buffer | undefined;
  const keep = job.resume
    ? (received: Buffer) => {
        ticket = received;
      }
    : undefined;
  while (Atomics.load(counters, STOP) === 0) await oneConnection(job.port, ticket, count, keep);
}

if (!isMainThread) {
  const { job, counters } = workerData as { job: HandshakeJob; counters: Int32Array };
  await Promise.all(Array.from({ length: job.perThread }, () => loop(job, counters)));
} else {
  const job = JSON.parse(process.argv[2]!) as HandshakeJob;
  const counters = Array.from(
    { length: job.threads },
    () => new Int32Array(new SharedArrayBuffer(4 * (COUNTERS.length + 1))),
  );
  const workers = counters.map((shared) =>
    startWorker(new URL(import.meta.url), { workerData: { job, counters: shared } }),
  );
  const totals = () =>
    Object.fromEntries(
      COUNTERS.map((what, i) => [what, counters.reduce((sum, shared) => sum + Atomics.load(shared, i), 0)]),
    ) as Record<Counter, number>;
  await delay(job.warmupSeconds * 1000);
  console.log(JSON.stringify({ phase: 'measure' }));
  const before = totals();
  const cpu = process.cpuUsage();
  const started = performance.now();
  await delay(job.seconds * 1000);
  const after = totals();
  const used = process.cpuUsage(cpu);
  const seconds = (performance.now() - started) / 1000;
  for (const shared of counters) Atomics.store(shared, STOP, 1);
  const delta = (what: Counter) => after[what] - before[what];
  const outcome: HandshakeResult = {
    seconds,
    ok: delta('ok'),
    offered: delta('offered'),
    resumed: delta('resumed'),
    problems: Object.fromEntries(
      (['failed', 'wrongAnswer'] as const).map((what) => [what, delta(what)]).filter(([, n]) => n !== 0),
    ),
    cpuSeconds: (used.user + used.system) / 1e6,
  };
  console.log(JSON.stringify(outcome));
  await Promise.all(workers.map((worker) => worker.terminate()));
}
