/**
 * One side of a cross-thread throughput run. The producer sends `count` records of `size` bytes, each
 * stamped with its sequence number; the consumer touches every record (reads the sequence number and the
 * last byte, checks the order) and reports when it has seen the last one. Every contender does the same
 * work per record and the same copying a user would do: the payload is copied once into the channel.
 */
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import { RingBuffer } from 'ringbuf.js';
import { RingConsumer, RingProducer } from '../../src/ring/index.js';
import { arriveAndWait, now } from './gate.js';

export type Contender = 'ring' | 'postMessage' | 'postMessage-x64' | 'ringbuf.js';

export interface ThroughputJob {
  readonly contender: Contender;
  readonly role: 'producer' | 'consumer';
  readonly size: number;
  readonly count: number;
  readonly gate: Int32Array;
  /** ring / ringbuf.js: the shared buffer. */
  readonly buffer?: SharedArrayBuffer;
  /** postMessage: the channel end, and the consumer's progress for flow control. */
  readonly port?: MessagePort;
  readonly credit?: Int32Array;
}

export interface ThroughputResult {
  readonly endAt: number;
  readonly outOfOrder: number;
  readonly touched: number;
}

/** postMessage has no back-pressure of its own: the producer stays at most this many records ahead. */
const WINDOW = 8192;
const PACK = 64;
const SPIN = { spinMicros: 50 };

const job = workerData as ThroughputJob;
/** The ring producer publishes every 64 records or 16 KiB, whichever comes first: batching saves stores,
 * but a batch that holds much of the ring back stalls the consumer. */
const COMMIT_EVERY = Math.max(1, Math.min(64, Math.floor(16384 / job.size)));
const source = new Uint8Array(job.size).fill(0x5a);

function stamp(bytes: Uint8Array, offset: number, seq: number): void {
  bytes[offset] = seq;
  bytes[offset + 1] = seq >>> 8;
  bytes[offset + 2] = seq >>> 16;
  bytes[offset + 3] = seq >>> 24;
}

function readStamp(bytes: Uint8Array, offset: number): number {
  return (
    (bytes[offset]! | (bytes[offset + 1]! << 8) | (bytes[offset + 2]! << 16) | (bytes[offset + 3]! << 24)) >>>
    0
  );
}

let seen = 0;
let outOfOrder = 0;
let touched = 0;
function touch(bytes: Uint8Array, offset: number, length: number): void {
  if (readStamp(bytes, offset) !== seen) outOfOrder++;
  touched += bytes[offset + length - 1]!;
  seen++;
}

function finish(): void {
  const result: ThroughputResult = { endAt: now(), outOfOrder, touched };
  parentPort!.postMessage(result);
}

function waitForCredit(credit: Int32Array, sent: number): void {
  for (;;) {
    const consumed = Atomics.load(credit, 0);
    if (sent - consumed < WINDOW) return;
    Atomics.wait(credit, 0, consumed, 1);
  }
}

function reportCredit(credit: Int32Array): void {
  if ((seen & 255) === 0 || seen === job.count) {
    Atomics.store(credit, 0, seen);
    Atomics.notify(credit, 0);
  }
}

function ringProducer(buffer: SharedArrayBuffer): void {
  const producer = new RingProducer(buffer);
  const bytes = producer.bytes;
  for (let i = 0; i < job.count; ) {
    const offset = producer.claim(job.size);
    if (offset < 0) {
      producer.waitForRoomSync(job.size, SPIN);
      continue;
    }
    bytes.set(source, offset);
    stamp(bytes, offset, i);
    i++;
    if (i % COMMIT_EVERY === 0) producer.commit();
  }
  producer.commit();
}

function ringConsumer(buffer: SharedArrayBuffer): void {
  const consumer = new RingConsumer(buffer);
  while (seen < job.count) {
    if (consumer.drain(touch) === 0) consumer.waitForDataSync(SPIN);
  }
  finish();
}

function postProducer(port: MessagePort, credit: Int32Array): void {
  for (let i = 0; i < job.count; i++) {
    waitForCredit(credit, i);
    stamp(source, 0, i);
    port.postMessage(source); // structured clone: one copy, as the ring's one copy in
  }
}

function postPackedProducer(port: MessagePort, credit: Int32Array): void {
  for (let i = 0; i < job.count; ) {
    waitForCredit(credit, i);
    const records = Math.min(PACK, job.count - i);
    const pack = new Uint8Array(records * job.size);
    for (let r = 0; r < records; r++, i++) {
      pack.set(source, r * job.size);
      stamp(pack, r * job.size, i);
    }
    port.postMessage(pack, [pack.buffer]); // transferred: the packing was the one copy
  }
}

function postConsumer(port: MessagePort, credit: Int32Array, packed: boolean): void {
  port.on('message', (message: Uint8Array) => {
    if (packed) {
      for (let offset = 0; offset < message.length; offset += job.size) touch(message, offset, job.size);
    } else {
      touch(message, 0, job.size);
    }
    reportCredit(credit);
    if (seen === job.count) {
      port.close();
      finish();
    }
  });
}

function ringbufProducer(buffer: SharedArrayBuffer): void {
  const ring = new RingBuffer(buffer, Uint8Array);
  for (let i = 0; i < job.count; i++) {
    while (ring.availableWrite() < job.size); // ringbuf.js has no wait of its own: spin
    stamp(source, 0, i);
    ring.push(source);
  }
}

function ringbufConsumer(buffer: SharedArrayBuffer): void {
  const ring = new RingBuffer(buffer, Uint8Array);
  const record = new Uint8Array(job.size);
  while (seen < job.count) {
    if (ring.availableRead() < job.size) continue;
    ring.pop(record);
    touch(record, 0, job.size);
  }
  finish();
}

arriveAndWait(job.gate);
const producing = job.role === 'producer';
switch (job.contender) {
  case 'ring':
    (producing ? ringProducer : ringConsumer)(job.buffer!);
    break;
  case 'ringbuf.js':
    (producing ? ringbufProducer : ringbufConsumer)(job.buffer!);
    break;
  case 'postMessage':
  case 'postMessage-x64':
    if (!producing) postConsumer(job.port!, job.credit!, job.contender === 'postMessage-x64');
    else if (job.contender === 'postMessage') postProducer(job.port!, job.credit!);
    else postPackedProducer(job.port!, job.credit!);
    break;
}
