import {
  attachRing,
  BYTES_IN,
  BYTES_OUT,
  CONSUMER_PARKS,
  CONSUMER_WAKEUPS,
  FULL_EVENTS,
  HEAD,
  PRODUCER_PARKS,
  PRODUCER_WAKEUPS,
  RECORDS_IN,
  RECORDS_OUT,
  TAIL,
} from './layout.js';

/** A snapshot of a ring's counters. Each side updates its own once per commit or release batch. */
export interface RingStats {
  readonly capacity: number;
  /** Bytes between the consumer's head and the producer's committed tail (headers and padding included). */
  readonly usedBytes: number;
  readonly recordsIn: number;
  readonly bytesIn: number;
  readonly recordsOut: number;
  readonly bytesOut: number;
  /** Staging calls that found the ring full. */
  readonly fullEvents: number;
  readonly consumerParks: number;
  readonly consumerWakeups: number;
  readonly producerParks: number;
  readonly producerWakeups: number;
}

/**
 * Reads a ring's counters from any thread, without messages. The counters are plain Float64 stores by
 * their single writer; a reader may see one batch late, never a value that was not written.
 */
export function readRingStats(buffer: SharedArrayBuffer): RingStats {
  const { control, counters, capacity } = attachRing(buffer);
  return {
    capacity,
    usedBytes: (Atomics.load(control, TAIL) - Atomics.load(control, HEAD)) >>> 0,
    recordsIn: counters[RECORDS_IN],
    bytesIn: counters[BYTES_IN],
    recordsOut: counters[RECORDS_OUT],
    bytesOut: counters[BYTES_OUT],
    fullEvents: counters[FULL_EVENTS],
    consumerParks: counters[CONSUMER_PARKS],
    consumerWakeups: counters[CONSUMER_WAKEUPS],
    producerParks: counters[PRODUCER_PARKS],
    producerWakeups: counters[PRODUCER_WAKEUPS],
  };
}
