/** Milliseconds on any monotonic origin, and the timer to wake the ping tracker. */
export interface PingClock {
  now(): number;
  setTimeout(callback: () => void, delayMs: number): unknown;
  clearTimeout(handle: unknown): void;
}

/**
 * Real time, on one clock for every thread. `performance.timeOrigin + performance.now()` rather than
 * `performance.now()` alone: each thread has its own time origin, and the receive time of a reply is
 * stamped by the coordinator (main thread) while its send time is taken in a shard.
 */
export const systemClock: PingClock = {
  now: () => performance.timeOrigin + performance.now(),
  setTimeout: (callback, delayMs) => setTimeout(callback, delayMs),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};
