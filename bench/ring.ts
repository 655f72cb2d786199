/**
 * Ring benchmark: cross-thread throughput of the sockshard ring against postMessage (plain and packed 64
 * records per call) and the ringbuf.js package, with single-thread copy bandwidth as the limit; then the
 * wake-up round trip (ping-pong) through rings against postMessage.
 *
 *   npm run bench:ring [-- --quick] [-- --runs N]
 *
 * Fairness: each contender runs its producer and consumer in two fresh workers (the main thread only
 * opens the start gate and waits), the contenders take turns within every run so that a noisy moment hits
 * all of them, and figures are medians over the runs. Writes bench/results/ring.json.
 */
import { MessageChannel, type Worker } from 'node:worker_threads';
import { RingBuffer } from 'ringbuf.js';
import { Bench } from 'tinybench';
import { startWorker } from '../src/engine/start-worker.js';
import { createRing } from '../src/ring/index.js';
import { benchArgs, percentile, printTable, type Series, series, si, writeResults } from './lib/report.js';
import { createGate, openWhenReady } from './ring/gate.js';
import type { PingPongContender, PingPongJob } from './ring/pingpong-worker.js';
import type { Contender, ThroughputJob, ThroughputResult } from './ring/throughput-worker.js';

const args = benchArgs(5);
const SIZES = [64, 1024, 16384] as const;
const RING_CAPACITY = 1 << 20;
const RECORDS: Record<(typeof SIZES)[number], number> = args.quick
  ? { 64: 300_000, 1024: 100_000, 16384: 10_000 }
  : { 64: 2_000_000, 1024: 500_000, 16384: 50_000 };
const CONTENDERS: Contender[] = ['ring', 'postMessage', 'postMessage-x64', 'ringbuf.js'];
const PINGPONG: PingPongContender[] = ['ring-spin', 'ring-park', 'ring-async', 'postMessage'];
const ROUNDS = args.quick ? 2_000 : 10_000;
const RUN_TIMEOUT_MS = 120_000;

const throughputWorker = new URL('./ring/throughput-worker.ts', import.meta.url);
const pingpongWorker = new URL('./ring/pingpong-worker.ts', import.meta.url);

function exited(worker: Worker): Promise<void> {
  return new Promise((resolve, reject) => {
    worker.once('error', reject);
    worker.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`worker exited with ${code}`))));
  });
}

const describeJob = (key: string, value: unknown) =>
  typeof value === 'object' && key !== '' ? undefined : value;

/** Runs two workers to completion and returns what the reporting one posted; bounded in time. */
async function runPair<T>(
  url: URL,
  jobs: [object, object],
  reporter: 0 | 1,
  transfer: object[][],
): Promise<T> {
  const gate = (jobs[0] as { gate: Int32Array }).gate;
  const workers = jobs.map((job, i) =>
    startWorker(url, { workerData: job, transferList: transfer[i] as never[] }),
  );
  // Listen for exits now: a producer may finish (and exit) long before the consumer reports.
  const exits = Promise.all(workers.map(exited));
  const result = new Promise<T>((resolve) => workers[reporter]!.once('message', resolve));
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new Error(
            `${url.pathname} (${JSON.stringify(jobs[0], describeJob)}) did not finish in ${RUN_TIMEOUT_MS} ms`,
          ),
        ),
      RUN_TIMEOUT_MS,
    );
  });
  try {
    const start = await Promise.race([openWhenReady(gate, 2), timeout]);
    const value = await Promise.race([result, timeout]);
    await Promise.race([exits, timeout]);
    return Object.assign(value as object, { start }) as T;
  } finally {
    clearTimeout(timer);
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
}

/** Records per second moved from one worker to another. */
async function throughput(contender: Contender, size: number, count: number): Promise<number> {
  const gate = createGate();
  const base = { contender, size, count, gate };
  let producer: ThroughputJob = { ...base, role: 'producer' };
  let consumer: ThroughputJob = { ...base, role: 'consumer' };
  const transfer: object[][] = [[], []];
  if (contender === 'ring' || contender === 'ringbuf.js') {
    const buffer =
      contender === 'ring'
        ? createRing({ capacity: RING_CAPACITY })
        : RingBuffer.getStorageForCapacity(RING_CAPACITY, Uint8Array);
    producer = { ...producer, buffer };
    consumer = { ...consumer, buffer };
  } else {
    const { port1, port2 } = new MessageChannel();
    const credit = new Int32Array(new SharedArrayBuffer(4));
    producer = { ...producer, port: port1, credit };
    consumer = { ...consumer, port: port2, credit };
    transfer[0] = [port1];
    transfer[1] = [port2];
  }
  const result = await runPair<ThroughputResult & { start: number }>(
    throughputWorker,
    [producer, consumer],
    1,
    transfer,
  );
  if (result.outOfOrder !== 0) throw new Error(`${contender}: ${result.outOfOrder} records out of order`);
  return count / ((result.endAt - result.start) / 1000);
}

interface RoundTrips {
  p50: number;
  p99: number;
}

async function pingpong(contender: PingPongContender, rounds: number): Promise<RoundTrips> {
  const gate = createGate();
  const base = { contender, rounds, warmup: Math.ceil(rounds / 10), gate };
  let ping: PingPongJob = { ...base, role: 'ping' };
  let pong: PingPongJob = { ...base, role: 'pong' };
  const transfer: object[][] = [[], []];
  if (contender === 'postMessage') {
    const { port1, port2 } = new MessageChannel();
    ping = { ...ping, port: port1 };
    pong = { ...pong, port: port2 };
    transfer[0] = [port1];
    transfer[1] = [port2];
  } else {
    const there = createRing({ capacity: 1 << 16 });
    const back = createRing({ capacity: 1 << 16 });
    ping = { ...ping, out: there, in: back };
    pong = { ...pong, out: back, in: there };
  }
  const rtts = await runPair<Float64Array>(pingpongWorker, [ping, pong], 0, transfer);
  const sorted = Float64Array.from(rtts).sort();
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
}

/** Single-thread TypedArray.set bandwidth into a shared buffer the size of the ring (bytes/s). */
async function copyLimit(size: number): Promise<number> {
  const target = new Uint8Array(new SharedArrayBuffer(RING_CAPACITY));
  const source = new Uint8Array(size).fill(0x5a);
  const bench = new Bench({ time: args.quick ? 150 : 500, warmupTime: 50 });
  bench.add(`copy ${size}`, () => {
    for (let offset = 0; offset < RING_CAPACITY; offset += size) target.set(source, offset);
  });
  await bench.run();
  const result = bench.tasks[0]!.result;
  if (result.state !== 'completed') throw new Error(`copy ${size}: ${result.state}`);
  return RING_CAPACITY / (result.latency.mean / 1000);
}

function append(into: Record<string, number[]>, key: string, value: number): void {
  const list = into[key] ?? [];
  list.push(value);
  into[key] = list;
}

const rates: Record<string, number[]> = {};
const copies: Record<string, number[]> = {};
const trips: Record<string, { p50: number[]; p99: number[] }> = {};
for (let run = 1; run <= args.runs; run++) {
  process.stdout.write(`run ${run}/${args.runs}: throughput`);
  for (const size of SIZES) {
    for (const contender of CONTENDERS) {
      const key = `${contender} ${size}`;
      append(rates, key, await throughput(contender, size, RECORDS[size]));
      process.stdout.write('.');
    }
    append(copies, String(size), await copyLimit(size));
  }
  process.stdout.write(' ping-pong');
  for (const contender of PINGPONG) {
    const trip = await pingpong(contender, ROUNDS);
    trips[contender] ??= { p50: [], p99: [] };
    trips[contender].p50.push(trip.p50);
    trips[contender].p99.push(trip.p99);
    process.stdout.write('.');
  }
  process.stdout.write('\n');
}

const throughputSeries: Record<string, Series & { bytesPerSecond: number }> = {};
for (const [key, runs] of Object.entries(rates)) {
  const size = Number(key.split(' ')[1]);
  const s = series(runs);
  throughputSeries[key] = { ...s, bytesPerSecond: s.median * size };
}
const copySeries = Object.fromEntries(Object.entries(copies).map(([size, runs]) => [size, series(runs)]));
const tripSeries = Object.fromEntries(
  Object.entries(trips).map(([name, t]) => [name, { p50: series(t.p50), p99: series(t.p99) }]),
);
const rate = (contender: Contender, size: number) => throughputSeries[`${contender} ${size}`]!.median;
const ratios = {
  ring64_vs_postMessage: rate('ring', 64) / rate('postMessage', 64),
  ring64_vs_postMessage_batched: rate('ring', 64) / rate('postMessage-x64', 64),
  ring64_vs_ringbufjs: rate('ring', 64) / rate('ringbuf.js', 64),
  ring16k_vs_copy_limit: (rate('ring', 16384) * 16384) / copySeries[16384]!.median,
  pingpong_p50_vs_postMessage: tripSeries['ring-spin']!.p50.median / tripSeries.postMessage!.p50.median,
  pingpong_park_p50_vs_postMessage: tripSeries['ring-park']!.p50.median / tripSeries.postMessage!.p50.median,
  pingpong_async_p50_vs_postMessage:
    tripSeries['ring-async']!.p50.median / tripSeries.postMessage!.p50.median,
};

for (const size of SIZES) {
  printTable(
    `${size}-byte records, cross-thread (median of ${args.runs} runs; ratio = ring / contender)`,
    CONTENDERS.map((contender: string) => {
      const s = throughputSeries[`${contender} ${size}`]!;
      return {
        contender,
        'records/s': si(s.median),
        'min-max': `${si(s.min)}-${si(s.max)}`,
        'bytes/s': si(s.bytesPerSecond),
        'ring ×': (rate('ring', size) / s.median).toFixed(2),
      };
    }).concat([
      {
        contender: 'copy limit',
        'records/s': si(copySeries[size]!.median / size),
        'min-max': `${si(copySeries[size]!.min / size)}-${si(copySeries[size]!.max / size)}`,
        'bytes/s': si(copySeries[size]!.median),
        'ring ×': ((rate('ring', size) * size) / copySeries[size]!.median).toFixed(2),
      },
    ]),
  );
}
printTable(
  `wake-up round trip, 64-byte record (µs, median of ${args.runs} runs of ${ROUNDS} rounds)`,
  PINGPONG.map((contender) => ({
    contender,
    p50: tripSeries[contender]!.p50.median.toFixed(1),
    p99: tripSeries[contender]!.p99.median.toFixed(1),
    'p50 vs postMessage': (tripSeries[contender]!.p50.median / tripSeries.postMessage!.p50.median).toFixed(2),
  })),
);
printTable(
  'ratios',
  Object.entries(ratios).map(([name, value]) => ({ name, value: value.toFixed(2) })),
);
const file = writeResults('ring', {
  quick: args.quick,
  runs: args.runs,
  ringCapacity: RING_CAPACITY,
  records: RECORDS,
  pingpongRounds: ROUNDS,
  throughput: throughputSeries,
  copyLimitBytesPerSecond: copySeries,
  pingpongMicros: tripSeries,
  ratios,
});
console.log(`\nwrote ${file}`);
