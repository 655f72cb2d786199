/**
 * ICMP for sockshard, shared by the coordinator and the shards: checksum, zero-copy parsing, echo request
 * building, the coordinator's demultiplexer and a shard's ping bookkeeping. Pure computation on
 * Uint8Arrays: nothing here opens a socket (the raw socket is src/engine/icmp-socket.ts, coordinator only).
 */

export { formatIpv4, isLoopbackIpv4, parseIpv4, readIpv4, writeIpv4 } from '../ip-address.js';
export { internetChecksum, onesComplementSum } from './checksum.js';
export { type PingClock, systemClock } from './clock.js';
export {
  defaultIdentifierSpan,
  ICMP_DROP_REASONS,
  IcmpDemux,
  type IcmpDemuxCounters,
  type IcmpDropReason,
  type IcmpRoute,
  type IcmpRoutes,
  ROUTED_KINDS,
  type RoutedKind,
  shardIdentifierRange,
} from './demux.js';
export {
  type EchoRequestFields,
  echoRequestLength,
  readEchoSerial,
  readEchoTimestamp,
  writeEchoRequest,
} from './echo-request.js';
export {
  EchoPacket,
  IcmpErrorPacket,
  type IcmpKind,
  type IcmpPacket,
  OtherIcmpPacket,
} from './icmp-packet.js';
export * as icmpLayout from './layout.js';
export { ICMP_PARSE_FAILURES, type IcmpParseFailure, type IcmpParseResult, parseIcmp } from './parse.js';
export type { PingOptions, PingResult, PingSession, ProbeOutcome, ProbeStatus } from './ping-options.js';
export {
  formatPingStatistics,
  integerSqrt,
  PingStatistics,
  type PingStatisticsSummary,
  type RttSummary,
} from './ping-statistics.js';
export {
  type EchoErrorFields,
  type EchoReplyFields,
  type PingProbe,
  PingTracker,
  type PingTrackerCounters,
  type PingTrackerOptions,
  type TrackOutcome,
} from './ping-tracker.js';
export { TokenBucket } from './token-bucket.js';
