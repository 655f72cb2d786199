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
