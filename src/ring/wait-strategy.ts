/**
 * How a ring side waits for the other: spin, then yield, then park.
 *
 * A futex wake costs about 20 us on these virtual machines, so a side that expects an answer soon does
 * better to poll briefly before it parks (as Aeron's and the Disruptor's back-off strategies do). Spinning
 * burns a core that the other side may need, so the default is to park at once; dedicated threads with
 * latency targets should set `spinMicros`.
 */

export interface WaitStrategy {
  /** Busy-poll for this many microseconds before yielding or parking. Default 0. */
  readonly spinMicros?: number;
  /**
   * Async waits only: re-check after this many turns of the event loop (`setImmediate`) before parking,
   * so that other I/O on the thread runs while the side polls. Default 0.
   */
  readonly yieldRounds?: number;
}

export interface WaitOptions extends WaitStrategy {
  /** Give up after this many milliseconds (the wait then resolves `false`). Default: no limit. */
  readonly timeoutMs?: number;
}

/** Parks a side on `control[flag]`; the other side clears the flag and notifies after it publishes. */
export interface ParkSite {
  readonly control: Int32Array;
  readonly flag: number;
  /** Called once per park, to count it. */
  onPark(): void;
}

/** The park site of one ring side: its flag, and the counter its parks add to. */
export function parkSite(control: Int32Array, flag: number, counters: Float64Array, parks: number): ParkSite {
  return {
    control,
    flag,
    onPark: () => {
      counters[parks] += 1;
    },
  };
}

const immediate = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function spin(ready: () => boolean, micros: number): boolean {
  if (micros <= 0) return ready();
  const deadline = performance.now() + micros / 1000;
  do {
    if (ready()) return true;
  } while (performance.now() < deadline);
  return false;
}

function remaining(deadline: number): number {
  return deadline === Number.POSITIVE_INFINITY ? deadline : Math.max(0, deadline - performance.now());
}

/**
 * Raises the parked flag, then re-checks `ready`. The order matters: the other side stores its index and
 * then loads the flag, while this side stores the flag and then loads the index. Both are sequentially
 * consistent Atomics, so at least one side sees the other's store: either the publisher sees the flag and
 * notifies, or this side sees the new index and does not sleep. No wake-up is lost.
 */
function raiseFlag(site: ParkSite, ready: () => boolean): boolean {
  Atomics.store(site.control, site.flag, 1);
  if (ready()) {
    Atomics.store(site.control, site.flag, 0);
    return true;
  }
  site.onPark();
  return false;
}

export async function waitAsync(
  site: ParkSite,
  ready: () => boolean,
  options: WaitOptions = {},
): Promise<boolean> {
  if (spin(ready, options.spinMicros ?? 0)) return true;
  for (let round = options.yieldRounds ?? 0; round > 0; round--) {
    await immediate();
    if (ready()) return true;
  }
  const deadline = performance.now() + (options.timeoutMs ?? Number.POSITIVE_INFINITY);
  for (;;) {
    if (raiseFlag(site, ready)) return true;
    const result = Atomics.waitAsync(site.control, site.flag, 1, remaining(deadline));
    const outcome = result.async ? await result.value : result.value;
    if (ready()) return true;
    if (outcome === 'timed-out' || remaining(deadline) === 0) {
      Atomics.store(site.control, site.flag, 0);
      return false;
    }
  }
}

/** Blocks the calling thread: only for threads that have nothing else to do (never an event loop). */
export function waitSync(site: ParkSite, ready: () => boolean, options: WaitOptions = {}): boolean {
  if (spin(ready, options.spinMicros ?? 0)) return true;
  const deadline = performance.now() + (options.timeoutMs ?? Number.POSITIVE_INFINITY);
  for (;;) {
    if (raiseFlag(site, ready)) return true;
    const outcome = Atomics.wait(site.control, site.flag, 1, remaining(deadline));
    if (ready()) return true;
    if (outcome === 'timed-out' || remaining(deadline) === 0) {
      Atomics.store(site.control, site.flag, 0);
      return false;
    }
  }
}

/** The publishing side's half of the protocol: after its index store, wake the other side if parked. */
export function wakeIfParked(control: Int32Array, flag: number): boolean {
  // The plain load keeps the common case (nobody parked) to one read of a line the other side rarely
  // writes; the exchange makes sure that only one publisher notifies per park.
  if (Atomics.load(control, flag) === 0 || Atomics.exchange(control, flag, 0) === 0) return false;
  Atomics.notify(control, flag);
  return true;
}
