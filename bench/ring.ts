/**
 * Ring benchmark: records moved from one worker to another through the sockshard ring, against postMessage
 * (one record per message, and 64 packed into one transferred buffer) and ringbuf.js, with one thread's
 * copy as the limit; the ring's copy paths (word by word against TypedArray.set) across threads and on one
 * thread; the wake-up round trip through rings against postMessage. CPU per record is each end's own
 * thread time: ends that spin while they wait (the ring's, ringbuf.js's) count their spinning.
 *
 *   npm run bench:ring [-- --quick] [-- --runs N]
 */
import { MessageChannel } from 'node:worker_threads';
import { RingBuffer } from 'ringbuf.js';
import { startWorker } from '../src/engine/start-worker.js';
import { createRing } from '../src/ring/index.js';
import { copyWords } from '../src/ring/word-copy.js';
import { benchArgs } from './lib/args.js';
import { within } from './lib/children.js';
import { nanosPerCall } from './lib/cpu.js';
import { ReportBuilder } from './lib/report.js';
import type { Job, Outcome, RoundTripContender, ThroughputContender } from './ring/worker.js';

const args = benchArgs({ usage: 'npm run bench:ring -- [options]', runs: 5, quickRuns: 2 });
const RECORDS = { 64: 2_000_000, 1024: 500_000, 16384: 50_000 } as const;
const SIZES = [64, 1024, 16384] as const;
const COPY_SIZES = [16, 32, 64, 128, 256] as const;
const ROUNDS = 10_000;
const CAPACITY = 1 << 20;
const THROUGHPUT: Record<ThroughputContender, string> = {
  ring: 'sockshard ring: stage() in, read in place',
  'ring-words': 'sockshard ring, copied at both ends word by word: stage() in, copy() out',
  'ring-set': 'sockshard ring, copied at both ends with TypedArray.set',
  postMessage: 'postMessage, a record per message (structured clone)',
  'postMessage-x64': 'postMessage, 64 records packed in one transferred buffer',
  'ringbuf.js': 'ringbuf.js 0.4 push/pop (both ends spin)',
};
const ROUND_TRIP: Record<RoundTripContender, string> = {
  'ring-spin': 'rings, the waiting thread spins 100 µs, then parks',
  'ring-park': 'rings, the waiting thread parks at once (Atomics.wait)',
  'ring-async': 'rings, the waiting thread awaits Atomics.waitAsync (its event loop runs)',
  postMessage: 'postMessage both ways',
};

/** Runs both ends in fresh workers; the clock starts when both wait at the gate. */
async function pair(kind: Job['kind'], contender: Job['contender'], size: number, count: number) {
  const gate = new Int32Array(new SharedArrayBuffer(8));
  const roles = kind === 'throughput' ? (['producer', 'consumer'] as const) : (['ping', 'pong'] as const);
  const channel = contender.startsWith('postMessage') ? new MessageChannel() : null;
  const credit = new Int32Array(new SharedArrayBuffer(4));
  const rings =
    channel !== null
      ? []
      : contender === 'ringbuf.js'
        ? [RingBuffer.getStorageForCapacity(CAPACITY, Uint8Array)]
        : kind === 'throughput'
          ? [createRing({ capacity: CAPACITY })]
          : [createRing({ capacity: 1 << 16 }), createRing({ capacity: 1 << 16 })];
  const workers = roles.map((role, i) => {
    const port = channel === null ? undefined : i === 0 ? channel.port1 : channel.port2;
    const job: Job = { kind, contender, role, size, count, gate, rings, credit, ...(port && { port }) };
    return startWorker(new URL('./ring/worker.ts', import.meta.url), {
      workerData: job,
      transferList: port === undefined ? [] : [port],
    });
  });
  const outcomes = workers.map(
    (w) => new Promise<Outcome>((resolve, reject) => w.once('message', resolve).once('error', reject)),
  );
  try {
    while (Atomics.load(gate, 0) < 2) await Atomics.waitAsync(gate, 0, Atomics.load(gate, 0), 100).value;
    const start = performance.timeOrigin + performance.now();
    Atomics.store(gate, 1, 1);
    Atomics.notify(gate, 1);
    const [a, b] = await within(Promise.all(outcomes), 120_000, `${contender} did not finish`);
    return { start, a: a!, b: b! };
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

/**
 * CPU nanoseconds per copy on one thread, both ends of a ring: `in` copies a record from a private array
 * into the shared region (TypedArray.set against the Int32 loop), `out` copies one back out (`subarray`
 * then `set`, against the loop). The thresholds in src/ring/word-copy.ts come from these figures.
 */
function copies(): Map<string, { cpu: number; wall: number }> {
  const region = new SharedArrayBuffer(CAPACITY);
  const [words, bytes] = [new Int32Array(region), new Uint8Array(region)];
  const per = new Map<string, { cpu: number; wall: number }>();
  for (const size of new Set([...COPY_SIZES, ...SIZES])) {
    const own = new Uint8Array(size).fill(0x5a);
    const ownWords = new Int32Array(own.buffer);
    const time = (name: string, copy: () => void) => {
      const { cpu, wall } = nanosPerCall(copy);
      per.set(`${size} B ${name}`, { cpu: cpu / (CAPACITY / size), wall: wall / (CAPACITY / size) });
    };
    time('in, set', () => {
      for (let at = 0; at < CAPACITY; at += size) bytes.set(own, at);
    });
    if (size > 256) continue;
    time('in, words', () => {
      for (let at = 0; at < CAPACITY; at += size) copyWords(ownWords, 0, words, at >> 2, size >> 2);
    });
    time('out, set', () => {
      for (let at = 0; at < CAPACITY; at += size) own.set(bytes.subarray(at, at + size));
    });
    time('out, words', () => {
      for (let at = 0; at < CAPACITY; at += size) copyWords(words, at >> 2, ownWords, 0, size >> 2);
    });
  }
  return per;
}

const report = new ReportBuilder('ring', 'SharedArrayBuffer ring against postMessage and ringbuf.js', args)
  .settings({ capacity: CAPACITY, roundTrips: ROUNDS, ...RECORDS })
  .note(
    'Each contender runs its two ends in two fresh workers, started together from a shared gate; contenders take turns within every run.',
    "CPU per record is each end's own thread time; ends that spin while they wait (the ring's, ringbuf.js's) count it, so theirs is close to wall time per record.",
  );
for (const size of SIZES) {
  const name = `throughput-${size}`;
  report.scenario({
    name,
    title: `${size}-byte records, one worker to another`,
    unit: 'records/s',
    operation: 'record',
    baseline: 'postMessage',
  });
}
report
  .scenario({
    name: 'copy',
    title: 'copies on one thread (CPU time)',
    unit: 'ns',
    higherIsBetter: false,
    operation: 'copy',
  })
  .scenario({
    name: 'roundtrip',
    title: 'wake-up round trip of a 64-byte record, p50',
    unit: 'µs',
    higherIsBetter: false,
    operation: 'round trip',
    baseline: 'postMessage',
  });

for (let run = 1; run <= args.runs; run++) {
  process.stdout.write(`run ${run}/${args.runs}:`);
  const copy = copies();
  for (const [name, ns] of copy) report.add('copy', name, name, { value: ns.cpu });
  for (const size of SIZES) {
    for (const contender of Object.keys(THROUGHPUT) as ThroughputContender[]) {
      const { start, a, b } = await pair('throughput', contender, size, RECORDS[size]);
      if (b.outOfOrder !== 0) throw new Error(`${contender}: ${b.outOfOrder} records out of order`);
      const per = (seconds: number) => (seconds * 1e6) / RECORDS[size];
      const cpu = {
        producer: per(a.cpuSeconds),
        consumer: per(b.cpuSeconds),
        server: per(a.cpuSeconds + b.cpuSeconds),
      };
      report.add(`throughput-${size}`, contender, THROUGHPUT[contender], {
        value: RECORDS[size] / ((b.endAt - start) / 1000),
        cpu,
      });
      process.stdout.write('.');
    }
    const ns = copy.get(`${size} B in, set`)!;
    report.add(
      `throughput-${size}`,
      'copy limit',
      'one thread copying records with TypedArray.set, nothing else',
      { value: 1e9 / ns.wall, cpu: { server: ns.cpu / 1000 } },
    );
  }
  process.stdout.write(' round trips');
  for (const contender of Object.keys(ROUND_TRIP) as RoundTripContender[]) {
    const { a, b } = await pair('roundtrip', contender, 64, ROUNDS);
    const per = (seconds: number) => (seconds * 1e6) / (ROUNDS * 1.1); // the 10% warm-up is in the CPU time
    report.add('roundtrip', contender, ROUND_TRIP[contender], {
      value: a.p50Us!,
      metrics: { p99_us: a.p99Us! },
      cpu: { ping: per(a.cpuSeconds), pong: per(b.cpuSeconds), server: per(a.cpuSeconds + b.cpuSeconds) },
    });
    process.stdout.write('.');
  }
  process.stdout.write('\n');
}

report
  .ratio('ring64_vs_postMessage', 'throughput-64: ring / postMessage', { atLeast: 20, key: true })
  .ratio('ring64_vs_postMessage_packed', 'throughput-64: ring / postMessage-x64', { atLeast: 2, key: true })
  .ratio('ring64_vs_ringbufjs', 'throughput-64: ring / ringbuf.js', { atLeast: 5, key: true })
  .ratio('ring64_cpu_vs_postMessage_packed', 'throughput-64 cpu.server: ring / postMessage-x64', {
    key: true,
  })
  .ratio('ring64_words_vs_set', 'throughput-64: ring-words / ring-set', { atLeast: 1, key: true })
  .ratio('ring64_words_cpu_vs_set', 'throughput-64 cpu.server: ring-words / ring-set', { key: true })
  .ratio('ring16k_vs_copy_limit', 'throughput-16384: ring / copy limit', { atLeast: 0.25, key: true })
  .ratio('roundtrip_p50_vs_postMessage', 'roundtrip: ring-spin / postMessage', { atMost: 0.5, key: true })
  .ratio('roundtrip_park_p50_vs_postMessage', 'roundtrip: ring-park / postMessage')
  .ratio('roundtrip_async_p50_vs_postMessage', 'roundtrip: ring-async / postMessage');
for (const size of COPY_SIZES) {
  report.ratio(`copy_in${size}_words_vs_set`, `copy: ${size} B in, words / ${size} B in, set`, {
    key: size === 32,
  });
  report.ratio(`copy_out${size}_words_vs_set`, `copy: ${size} B out, words / ${size} B out, set`, {
    key: size === 128,
  });
}
report.write();
