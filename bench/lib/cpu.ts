/**
 * CPU time by thread, from /proc (Linux), so that every figure can be given as CPU per operation, split
 * by role: the coordinator, each shard, the pool, and V8's and libuv's helpers as 'other'. CPU per
 * operation does not depend on who won the cores against the load generator, which throughput does.
 *
 * A thread's time is `/proc/<pid>/task/<tid>/schedstat`'s first field (nanoseconds on a CPU), or utime +
 * stime of its `stat` (clock ticks) where schedstat is missing. Node names every thread "node", so shards
 * and pool threads say who they are: `registerThread(role)` appends `<tid> <role>` to the file named by
 * SOCKSHARD_BENCH_THREADS, which the measuring side reads.
 */
import { appendFileSync, existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import os from 'node:os';
import { Bench } from 'tinybench';

export const THREADS_ENV = 'SOCKSHARD_BENCH_THREADS';
export const TICKS_PER_SECOND = 100; // USER_HZ, what /proc counts in on every Linux ABI Node runs on
// proc(5): fields after the command's ')' start at field 3; utime 14, stime 15, cutime 16, cstime 17.
const statField = (text: string, n: number) =>
  Number(text.slice(text.lastIndexOf(')') + 2).split(' ')[n - 3]);

function taskSeconds(dir: string): number {
  try {
    return Number(readFileSync(`${dir}/schedstat`, 'utf8').split(' ')[0]) / 1e9;
  } catch {
    const stat = readFileSync(`${dir}/stat`, 'utf8');
    return (statField(stat, 14) + statField(stat, 15)) / TICKS_PER_SECOND;
  }
}

/** This thread's CPU time so far, in seconds. */
export function threadCpuSeconds(): number {
  return taskSeconds('/proc/thread-self');
}

/**
 * Nanoseconds per call of `fn` on this thread: `cpu` counts only this thread's CPU time (another process
 * taking the core meanwhile does not count), `wall` all of it. tinybench runs the samples (a warm-up of
 * `seconds`, then `seconds` of samples, at least five) on this thread's CPU clock; each sample is a batch
 * of calls worth about 5 ms of CPU, because /proc's figure moves in scheduler ticks. `cpu` is the median
 * sample over its batch.
 */
export function nanosPerCall(fn: () => void, seconds = 0.3): { cpu: number; wall: number } {
  let batch = 1;
  for (let used = 0; used < 0.005; batch = Math.ceil(batch * Math.min(10, 0.006 / Math.max(used, 1e-6)))) {
    const start = threadCpuSeconds();
    for (let i = 0; i < batch; i++) fn();
    used = threadCpuSeconds() - start;
    if (used >= 0.005) break;
  }
  const runBatch = () => {
    for (let i = 0; i < batch; i++) fn();
  };
  const bench = new Bench({
    now: () => threadCpuSeconds() * 1e3,
    time: seconds * 1e3,
    warmupTime: seconds * 1e3,
    iterations: 5,
    warmupIterations: 2,
    throws: true,
  });
  bench.add('batch', runBatch).runSync();
  const result = bench.tasks[0]?.result;
  if (result === undefined || !('latency' in result)) throw new Error('tinybench produced no samples');
  const wallStart = performance.now();
  for (let i = 0; i < 3; i++) runBatch();
  return {
    cpu: (result.latency.p50 * 1e6) / batch,
    wall: ((performance.now() - wallStart) * 1e6) / (3 * batch),
  };
}

/** Tells a measuring process what this thread is (a no-op when nobody measures). */
export function registerThread(role: string): void {
  const file = process.env[THREADS_ENV];
  if (file === undefined || file === '') return;
  appendFileSync(file, `${readlinkSync('/proc/thread-self').split('/').pop()} ${role}\n`);
}

/**
 * The usual split of a server: registered threads by their role, the first process's main thread as
 * `mainRole` ('coordinator', 'primary', 'main'), every later process as `worker<k>` (node:cluster), and
 * the first process's other threads as 'other'.
 */
export function serverRoles(pids: readonly number[], mainRole: string, threadsFile?: string) {
  // The file is read again when a thread is not in it yet: a meter asks when it stops, and threads may
  // have registered since it was made (a reload's new shards).
  let registered = new Map<number, string>();
  const read = () => {
    registered = new Map();
    if (threadsFile === undefined || !existsSync(threadsFile)) return;
    for (const line of readFileSync(threadsFile, 'utf8').split('\n')) {
      const [tid, role] = line.split(' ');
      if (role !== undefined) registered.set(Number(tid), role);
    }
  };
  return (pid: number, tid: number): string => {
    if (!registered.has(tid)) read();
    return (
      registered.get(tid) ??
      (pid !== pids[0] ? `worker${pids.indexOf(pid) - 1}` : tid === pid ? mainRole : 'other')
    );
  };
}

/** Every thread of `pids` now, by `pid/tid`; threads that end meanwhile are left out. */
function snapshot(pids: readonly number[]): Map<string, number> {
  const times = new Map<string, number>();
  for (const pid of pids) {
    const tids = existsSync(`/proc/${pid}/task`) ? readdirSync(`/proc/${pid}/task`) : [];
    for (const tid of tids) {
      try {
        times.set(`${pid}/${tid}`, taskSeconds(`/proc/${pid}/task/${tid}`));
      } catch {
        // The thread ended between the listing and the read.
      }
    }
  }
  return times;
}

/** The machine's busy and total CPU ticks, from the first line of /proc/stat. */
function machine(): { busy: number; total: number } {
  const [user, nice, system, idle, iowait, irq, softirq, steal] = readFileSync('/proc/stat', 'utf8')
    .split('\n', 1)[0]!
    .trim()
    .split(/\s+/)
    .slice(1, 9)
    .map(Number) as [number, number, number, number, number, number, number, number];
  const busy = user + nice + system + irq + softirq + steal;
  return { busy, total: busy + idle + iowait };
}

export interface CpuUse {
  /** CPU seconds by role; `server` is the sum over every role. */
  readonly byRole: Record<string, number>;
  readonly wallSeconds: number;
  /** Cores the whole machine kept busy meanwhile, ours included. */
  readonly busyCores: number;
}

/**
 * CPU by role between `start()` and `stop()`. A thread that ends in between counts up to the last time it
 * was read: with `pollMs` every thread is read that often (a reload's retired shards, a hand-over's
 * predecessor, a killed node:cluster worker end within the measurement), without it only at `start()`.
 */
export class CpuMeter {
  readonly #pids: number[];
  #before = new Map<string, number>();
  /** Every thread's latest reading since start(). */
  #latest = new Map<string, number>();
  #poll: NodeJS.Timeout | undefined;
  #machine = machine();
  #started = 0;

  constructor(
    pids: readonly number[],
    readonly roleOf: (pid: number, tid: number) => string,
    readonly pollMs = 0,
  ) {
    this.#pids = [...pids];
  }

  get pids(): readonly number[] {
    return this.#pids;
  }

  /** Reads `pid`'s threads too, from the next reading on: a process started during the measurement counts whole. */
  follow(pid: number): void {
    if (!this.#pids.includes(pid)) this.#pids.push(pid);
  }

  start(): void {
    this.#before = snapshot(this.#pids);
    this.#latest = new Map(this.#before);
    this.#machine = machine();
    this.#started = performance.now();
    if (this.pollMs > 0) this.#poll = setInterval(() => this.#read(), this.pollMs);
  }

  #read(): void {
    for (const [key, seconds] of snapshot(this.#pids)) this.#latest.set(key, seconds);
  }

  stop(): CpuUse {
    clearInterval(this.#poll);
    this.#read();
    const byRole: Record<string, number> = { server: 0 };
    for (const [key, seconds] of this.#latest) {
      const [pid, tid] = key.split('/').map(Number) as [number, number];
      const used = seconds - (this.#before.get(key) ?? 0);
      const role = this.roleOf(pid, tid);
      byRole[role] = (byRole[role] ?? 0) + used;
      byRole.server! += used;
    }
    const now = machine();
    const busy = (now.busy - this.#machine.busy) / (now.total - this.#machine.total);
    return {
      byRole,
      wallSeconds: (performance.now() - this.#started) / 1000,
      busyCores: busy * os.availableParallelism(),
    };
  }
}

/** Other processes busier than this many cores during a measurement make it disturbed (a note says so). */
const DISTURBED_CORES = 0.25;

/**
 * The cores the rest of the machine kept busy while `use` was measured (not the server, not its load
 * generator, which spent `generatorSeconds`), and a note when that disturbed the measurement.
 */
export function disturbance(use: CpuUse, generatorSeconds: number): { others: number; notes: string[] } {
  const others = Math.max(0, use.busyCores - (use.byRole.server! + generatorSeconds) / use.wallSeconds);
  return {
    others,
    notes:
      others > DISTURBED_CORES ? [`disturbed: other processes used up to ${others.toFixed(2)} cores`] : [],
  };
}

/** Microseconds per operation, by role, from CPU seconds by role. */
export function perOperation(
  seconds: Readonly<Record<string, number>>,
  operations: number,
): Record<string, number> {
  return Object.fromEntries(Object.entries(seconds).map(([role, s]) => [role, (s * 1e6) / operations]));
}

/** CPU seconds of this process's children that have been waited for (ping, fping): cutime + cstime. */
export function childrenCpuSeconds(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  return (statField(stat, 16) + statField(stat, 17)) / TICKS_PER_SECOND;
}
