/**
 * A shared-memory gate between a test and a thread it started: the thread `hold()`s at it (counts itself
 * in, then blocks, as a stalled handler or a dying worker would) or `pass()`es it (waits without blocking
 * its event loop, as a request in flight), the test learns that it is there (`reached`), does what must
 * happen meanwhile, and `open()`s it. This replaces the fixed sleeps that
 * guessed when a thread would be there: a gate knows.
 *
 * Layout (Int32 words of one SharedArrayBuffer): [ARRIVED] threads that reached the gate (holders add,
 * the test waits on it); [OPEN] 0 until the test opens the gate (holders wait on it).
 *
 * A gate reaches a thread in its workerData, or, where the test does not start the thread itself (a shard
 * running a handler module, an offload pool thread), by name: `shareGate()` puts it in worker_threads'
 * environment data, which every Worker started afterwards inherits, and the Workers those start in turn, with
 * the SharedArrayBuffer shared, not copied. The thread finds it with `sharedGate(name)`.
 */
import { getEnvironmentData, setEnvironmentData } from 'node:worker_threads';

const ARRIVED = 0;
const OPEN = 1;
const WORDS = 2;
/** Bounds a hold, so that a test that fails before opening its gate cannot leave a thread blocked for ever. */
export const HOLD_LIMIT_MS = 10_000;

export class Gate {
  readonly words: Int32Array;

  constructor(
    words: Int32Array = new Int32Array(new SharedArrayBuffer(WORDS * Int32Array.BYTES_PER_ELEMENT)),
  ) {
    this.words = words;
  }

  /** Thread side: counts itself in, then blocks its thread until the gate opens; false after `limitMs`. */
  hold(limitMs = HOLD_LIMIT_MS): boolean {
    this.#arrive();
    return Atomics.wait(this.words, OPEN, 0, limitMs) !== 'timed-out';
  }

  /**
   * Thread side, for code on an event loop that must keep running (an HTTP handler whose shard serves on):
   * counts itself in, then resolves once the gate opens; false after `limitMs`.
   */
  async pass(limitMs = HOLD_LIMIT_MS): Promise<boolean> {
    this.#arrive();
    const result = Atomics.waitAsync(this.words, OPEN, 0, limitMs);
    return (result.async ? await result.value : result.value) !== 'timed-out';
  }

  #arrive(): void {
    Atomics.add(this.words, ARRIVED, 1);
    Atomics.notify(this.words, ARRIVED);
  }

  /** How many threads have reached the gate so far. */
  get arrived(): number {
    return Atomics.load(this.words, ARRIVED);
  }

  /** Test side (parks with waitAsync: the event loop runs on): resolves once `count` threads have arrived. */
  async reached(count = 1, timeoutMs = HOLD_LIMIT_MS): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    for (let seen = this.arrived; seen < count; seen = this.arrived) {
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`${seen} of ${count} threads reached the gate in ${timeoutMs} ms`);
      const result = Atomics.waitAsync(this.words, ARRIVED, seen, left);
      if (result.async) await result.value;
    }
  }

  open(): void {
    Atomics.store(this.words, OPEN, 1);
    Atomics.notify(this.words, OPEN);
  }
}

let shared = 0;

/** Test side: a gate that threads started from now on can find by its name; `unshare()` in teardown. */
export function shareGate(): { readonly gate: Gate; readonly name: string; unshare(): void } {
  const gate = new Gate();
  const name = `sockshard-test-gate-${process.pid}-${++shared}`;
  setEnvironmentData(name, gate.words.buffer as SharedArrayBuffer);
  return {
    gate,
    name,
    unshare() {
      gate.open();
      setEnvironmentData(name, undefined);
    },
  };
}

/** Thread side: the gate a test shared as `name`. */
export function sharedGate(name: string): Gate {
  const buffer = getEnvironmentData(name);
  if (!(buffer instanceof SharedArrayBuffer))
    throw new Error(`no gate named ${name} was shared with this thread`);
  return new Gate(new Int32Array(buffer));
}
