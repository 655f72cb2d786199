/**
 * `sockshard/ring`: the single-producer single-consumer byte ring over a SharedArrayBuffer that sockshard's
 * threads talk through, usable on its own between any two threads. Its errors are sockshard's
 * (`SockshardError`s with a stable `code`), re-exported here.
 */

export { RingLayoutError, RingRangeError, RingRecordTooLargeError, RingStateError } from '../errors.js';
export {
  attachRing,
  createRing,
  largestRecord,
  type RingLayout,
  type RingOptions,
  recordSize,
} from './layout.js';
export { type RecordHandler, RingConsumer, type RingRecord } from './ring-consumer.js';
export { RingProducer } from './ring-producer.js';
export { type RingStats, readRingStats } from './ring-stats.js';
export type { WaitOptions, WaitStrategy } from './wait-strategy.js';
