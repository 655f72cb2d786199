/**
 * One end of a bench/ring.ts pair, its job in `workerData`. Throughput: the producer sends `count` records
 * of `size` bytes, each stamped with its sequence number in the one scratch record before it is copied in
 * (by every contender alike); the consumer checks every record's order and reads its last byte, after
 * copying it out for `ring-words`/`ring-set`. Round trip: `ping` sends a 64-byte record and waits for
 * `pong` to send it back. Each end reports its own thread's CPU time.
 */
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import { RingBuffer } from 'ringbuf.js';
import { RingConsumer, RingProducer } from '../../src/ring/index.js';
import { threadCpuSeconds } from '../lib/cpu.js';
import { Latencies } from '../lib/latency.js';

export type ThroughputContender =
  | 'ring'
  | 'ring-words'
  | 'ring-set'
  | 'postMessage'
  | 'postMessage-x64'
  | 'ringbuf.js';
export type RoundTripContender = 'ring-spin' | 'ring-park' | 'ring-async' | 'postMessage';

export interface Job {
  readonly kind: 'throughput' | 'roundtrip';
  readonly contender: ThroughputContender | RoundTripContender;
  readonly role: 'producer' | 'consumer' | 'ping' | 'pong';
  readonly size: number;
  /** Records, or measured round trips (after `count / 10` unmeasured ones). */
  readonly count: number;
  /** Int32 [ready count, go flag]. */
  readonly gate: Int32Array;
  readonly rings: readonly SharedArrayBuffer[];
  readonly port?: MessagePort;
  /** postMessage: records the consumer has seen, so that the producer stays at most WINDOW ahead. */
  readonly credit: Int32Array;
}

export interface Outcome {
  readonly cpuSeconds: number;
  /** Epoch ms when the last record was seen. */
  readonly endAt: number;
  readonly outOfOrder: number;
  readonly p50Us: number | null;
  readonly p99Us: number | null;
}

/** postMessage has no back-pressure: the producer stays at most this many records ahead. */
const WINDOW = 8192;
const SPIN = { spinMicros: 50 };
const job = workerData as Job;
/** Every 64 records or 16 KiB: fewer stores, without holding much of the ring back. */
const COMMIT_EVERY = Math.max(1, Math.min(64, Math.floor(16384 / job.size)));
const source = new Uint8Array(job.size).fill(0x5a);
const sourceWords = new Int32Array(source.buffer);
const scratch = new Uint8Array(job.size);
const scratchWords = new Int32Array(scratch.buffer);
let seen = 0;
let outOfOrder = 0;
let sink = 0;

/** What every consumer checks of every record: its sequence number (word 0) and its last byte. */
function check(words: Int32Array, bytes: Uint8Array, offset: number, length: number): void {
  if (words[offset >> 2] !== seen++) outOfOrder++;
  sink += bytes[offset + length - 1]!;
}

function produce(): void {
  const [buffer] = job.rings;
  if (job.contender === 'ringbuf.js') {
    const ring = new RingBuffer(buffer!, Uint8Array);
    for (let i = 0; i < job.count; i++) {
      while (ring.availableWrite() < job.size); // ringbuf.js has no wait of its own
      sourceWords[0] = i;
      ring.push(source);
    }
  } else if (buffer !== undefined) {
    const producer = new RingProducer(buffer);
    for (let i = 0; i < job.count; ) {
      sourceWords[0] = i;
      const offset = job.contender === 'ring-set' ? producer.claim(job.size) : 0;
      if (job.contender === 'ring-set' ? offset < 0 : !producer.stage(source)) {
        producer.waitForRoomSync(job.size, SPIN);
        continue;
      }
      if (job.contender === 'ring-set') producer.bytes.set(source, offset);
      if (++i % COMMIT_EVERY === 0) producer.commit();
    }
    producer.commit();
  } else {
    for (let i = 0; i < job.count; ) {
      while (i - Atomics.load(job.credit, 0) >= WINDOW)
        Atomics.wait(job.credit, 0, Atomics.load(job.credit, 0), 1);
      if (job.contender === 'postMessage') {
        sourceWords[0] = i++;
        job.port!.postMessage(source); // structured clone: the one copy, as the ring's one copy in
        continue;
      }
      const records = Math.min(64, job.count - i);
      const packed = new Uint8Array(records * job.size);
      for (let r = 0; r < records; r++) {
        sourceWords[0] = i++;
        packed.set(source, r * job.size);
      }
      job.port!.postMessage(packed, [packed.buffer]); // transferred: the packing was the one copy
    }
  }
}

function consume(done: () => void): void {
  const [buffer] = job.rings;
  if (job.contender === 'ringbuf.js') {
    const ring = new RingBuffer(buffer!, Uint8Array);
    while (seen < job.count) {
      if (ring.availableRead() < job.size) continue;
      ring.pop(scratch);
      check(scratchWords, scratch, 0, job.size);
    }
    done();
  } else if (buffer !== undefined) {
    const consumer = new RingConsumer(buffer);
    const words = consumer.words;
    const onRecord =
      job.contender === 'ring'
        ? (bytes: Uint8Array, offset: number, length: number) => check(words, bytes, offset, length)
        : (bytes: Uint8Array, offset: number, length: number) => {
            if (job.contender === 'ring-words') consumer.copy(offset, length, scratch);
            else scratch.set(bytes.subarray(offset, offset + length));
            check(scratchWords, scratch, 0, length);
          };
    while (seen < job.count) if (consumer.drain(onRecord) === 0) consumer.waitForDataSync(SPIN);
    done();
  } else {
    job.port!.on('message', (message: Uint8Array) => {
      const words = new Int32Array(message.buffer, message.byteOffset, message.length >> 2);
      for (let offset = 0; offset < message.length; offset += job.size)
        check(words, message, offset, job.size);
      Atomics.store(job.credit, 0, seen);
      Atomics.notify(job.credit, 0);
      if (seen === job.count) {
        job.port!.close();
        done();
      }
    });
  }
}

async function roundTrips(done: (latencies: Latencies) => void): Promise<void> {
  const warmup = Math.ceil(job.count / 10);
  const latencies = new Latencies();
  const ping = job.role === 'ping';
  const port = job.port;
  if (port !== undefined) {
    let i = 0;
    let start = 0;
    const send = () => {
      start = performance.now();
      port.postMessage(source);
    };
    if (!ping) port.once('close', () => done(latencies));
    port.on('message', () => {
      if (!ping) return port.postMessage(source);
      if (i++ >= warmup) latencies.recordMs(performance.now() - start);
      if (i < job.count + warmup) return send();
      port.close();
      done(latencies);
    });
    if (ping) send();
    return;
  }
  const producer = new RingProducer(job.rings[ping ? 0 : 1]!);
  const consumer = new RingConsumer(job.rings[ping ? 1 : 0]!);
  const wait = job.contender === 'ring-spin' ? { spinMicros: 100 } : {};
  // waitForData parks with Atomics.waitAsync, which does not keep a worker alive on its own.
  const keepAlive = job.contender === 'ring-async' ? setInterval(() => {}, 60_000) : undefined;
  const ignore = () => {};
  for (let i = 0; i < job.count + warmup; i++) {
    const start = performance.now();
    if (ping) producer.write(source);
    while (consumer.drain(ignore) === 0) {
      if (keepAlive === undefined) consumer.waitForDataSync(wait);
      else await consumer.waitForData(wait);
    }
    if (!ping) producer.write(source);
    else if (i >= warmup) latencies.recordMs(performance.now() - start);
  }
  clearInterval(keepAlive);
  done(latencies);
}

Atomics.add(job.gate, 0, 1);
Atomics.notify(job.gate, 0);
Atomics.wait(job.gate, 1, 0);
const cpuAtStart = threadCpuSeconds();
const finish = (latencies?: Latencies) => {
  const summary = latencies?.summaryMs() ?? null;
  parentPort!.postMessage({
    cpuSeconds: threadCpuSeconds() - cpuAtStart,
    endAt: performance.timeOrigin + performance.now(),
    outOfOrder,
    p50Us: summary === null ? null : summary.p50 * 1000,
    p99Us: summary === null ? null : summary.p99 * 1000,
  } satisfies Outcome);
};
if (job.kind === 'roundtrip') await roundTrips(finish);
else if (job.role === 'producer') {
  produce();
  finish();
} else consume(finish);
if (sink === 0.5) console.log(sink); // keeps the reads from being optimised away
