export { type CloseOptions, createEngine, Engine, type EngineEvents } from './engine/engine.js';
export type {
  EngineStats,
  EngineTotals,
  ListenerStats,
  ShardStats,
  UdpPortStats,
} from './engine/engine-stats.js';
export type { IcmpStats } from './engine/icmp-router.js';
export type {
  BalanceStrategy,
  ConnectionLimits,
  EngineOptions,
  HandlerModule,
  HttpOptions,
  IcmpOptions,
  ResolvedEngineOptions,
  RestartPolicy,
  TcpOptions,
  UdpOptions,
} from './engine/options.js';
export type { EngineState, ShardState } from './engine/supervisor.js';
export * from './errors.js';
export {
  defineHttpHandler,
  defineIcmpHandler,
  defineTcpHandler,
  defineUdpHandler,
  type HttpHandler,
  type HttpRequestHandler,
  type IcmpHandler,
  type OffloadOptions,
  type ShardContext,
  type ShardMessageHook,
  type TcpHandler,
  type UdpContext,
  type UdpHandler,
  type UdpPeer,
} from './handler.js';
export type { IcmpDropReason, RoutedKind } from './icmp/demux.js';
export {
  EchoPacket,
  IcmpErrorPacket,
  type IcmpKind,
  type IcmpPacket,
  OtherIcmpPacket,
} from './icmp/icmp-packet.js';
export type { IcmpParseFailure } from './icmp/parse.js';
export type { PingOptions, PingResult, ProbeOutcome, ProbeStatus } from './icmp/ping-options.js';
export type { PingStatisticsSummary, RttSummary } from './icmp/ping-statistics.js';
export type { OffloadSettings } from './protocol.js';
export * from './ring/index.js';
