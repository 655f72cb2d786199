/**
 * One side of a wake-up round trip: `ping` sends a 64-byte record and waits for `pong` to send it back,
 * `rounds` times, and reports every round-trip time. This measures how fast a waiting thread wakes, which is
 * what a request/response hop between a shard and the coordinator costs when traffic is light.
 */
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import { RingConsumer, RingProducer, type WaitStrategy } from '../../src/ring/index.js';
import { arriveAndWait } from './gate.js';

export type PingPongContender = 'ring-spin' | 'ring-park' | 'ring-async' | 'postMessage';

export interface PingPongJob {
  readonly contender: PingPongContender;
  readonly role: 'ping' | 'pong';
  readonly rounds: number;
  readonly warmup: number;
  readonly gate: Int32Array;
  readonly out?: SharedArrayBuffer;
  readonly in?: SharedArrayBuffer;
  readonly port?: MessagePort;
}

const job = workerData as PingPongJob;
const payload = new Uint8Array(64);
const total = job.rounds + job.warmup;
const rtts = new Float64Array(job.rounds);
const ignore = (): void => {};

function strategy(): WaitStrategy {
  return job.contender === 'ring-spin' ? { spinMicros: 100 } : {};
}

function report(): void {
  parentPort!.postMessage(rtts, [rtts.buffer]);
}

async function ringSide(): Promise<void> {
  const producer = new RingProducer(job.out!);
  const consumer = new RingConsumer(job.in!);
  const wait = strategy();
  const sync = job.contender !== 'ring-async';
  // The async variant waits with Atomics.waitAsync, which does not keep a worker alive on its own.
  const keepAlive = sync ? undefined : setInterval(ignore, 60_000);
  for (let i = 0; i < total; i++) {
    const start = performance.now();
    if (job.role === 'ping') producer.write(payload);
    while (consumer.drain(ignore) === 0) {
      if (sync) consumer.waitForDataSync(wait);
      else await consumer.waitForData(wait);
    }
    if (job.role === 'pong') producer.write(payload);
    else if (i >= job.warmup) rtts[i - job.warmup] = (performance.now() - start) * 1000;
  }
  clearInterval(keepAlive);
  if (job.role === 'ping') report();
}

function postSide(port: MessagePort): void {
  let i = 0;
  let start = 0;
  const send = (): void => {
    start = performance.now();
    port.postMessage(payload);
  };
  port.on('message', () => {
    if (job.role === 'pong') {
      port.postMessage(payload);
      return;
    }
    if (i >= job.warmup) rtts[i - job.warmup] = (performance.now() - start) * 1000;
    if (++i === total) {
      port.close();
      report();
    } else {
      send();
    }
  });
  if (job.role === 'ping') send();
}

arriveAndWait(job.gate);
if (job.contender === 'postMessage') postSide(job.port!);
else await ringSide();
