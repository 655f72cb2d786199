/**
 * A start gate in shared memory, so that both threads of a contender start together and the clock starts
 * when they do (not when a message happens to arrive). Layout: Int32 [READY count, GO flag].
 */
const READY = 0;
const GO = 1;

export function createGate(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(8));
}

/** In a worker: report ready, then block until the gate opens. */
export function arriveAndWait(gate: Int32Array): void {
  Atomics.add(gate, READY, 1);
  Atomics.notify(gate, READY);
  Atomics.wait(gate, GO, 0);
}

/** On the main thread: wait for `parties` workers, open the gate, return the start time (epoch ms). */
export async function openWhenReady(gate: Int32Array, parties: number): Promise<number> {
  for (;;) {
    const ready = Atomics.load(gate, READY);
    if (ready >= parties) break;
    const wait = Atomics.waitAsync(gate, READY, ready, 1000);
    if (wait.async) await wait.value;
  }
  const start = now();
  Atomics.store(gate, GO, 1);
  Atomics.notify(gate, GO);
  return start;
}

/** Wall-clock milliseconds comparable across threads (each thread's performance.now has its own origin). */
export function now(): number {
  return performance.timeOrigin + performance.now();
}
