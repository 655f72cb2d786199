/**
 * sockshard: a multi-core socket engine for Node.js. `createEngine()` makes the engine (in the coordinator,
 * your main thread); handler modules, typed with the `define...Handler` helpers, run in every shard. The
 * SharedArrayBuffer ring the threads talk through is its own entry point, `sockshard/ring`.
 *
 * @example
 * ```ts
 * import { createEngine } from 'sockshard';
 * const engine = createEngine({ shards: 2 });
 * engine.tcp({ port: 0, handler: new URL('./echo.js', import.meta.url) });
 * await engine.start();
 * console.log(engine.addresses());
 * await engine.close();
 * ```
 * @module
 */
export {
  type CloseOptions,
  createEngine,
  Engine,
  type EngineEvents,
  type ListenerAddress,
  type ReloadOptions,
} from './engine/engine.js';
export type {
  EngineStats,
  EngineTotals,
  ListenerStats,
  ProxyStats,
  ShardStats,
  UdpPortStats,
} from './engine/engine-stats.js';
export type { Health, HealthStatus } from './engine/health.js';
export type { Http2Tuning } from './engine/http2-options.js';
export type { IcmpStats } from './engine/icmp-router.js';
export type { SocketOrigin } from './engine/inherited-sockets.js';
export type {
  BalanceStrategy,
  ConnectionLimits,
  EngineOptions,
  HandlerModule,
  Http2Options,
  HttpOptions,
  HttpsOptions,
  IcmpOptions,
  RestartPolicy,
  SessionTicketOptions,
  StreamKind,
  TcpOptions,
  TlsListenerOptions,
  UdpOptions,
} from './engine/options.js';
export type { ProxyProtocolOptions } from './engine/proxy-options.js';
export type { EngineState, ShardState } from './engine/supervisor.js';
export type {
  CredentialSource,
  SecureContextOptions,
  TlsCredentialOptions,
  TlsProtocolOptions,
} from './engine/tls-options.js';
export {
  AdoptError,
  ControlRingFullError,
  EngineFailedError,
  EngineStateError,
  HandlerError,
  HandlerLoadError,
  HandoverError,
  IcmpIdentifiersExhaustedError,
  IcmpPermissionError,
  IcmpUnavailableError,
  InvalidOptionError,
  NativeAddonUnavailableError,
  OffloadError,
  OffloadTimeoutError,
  OffloadUnavailableError,
  ReloadError,
  RingLayoutError,
  RingRangeError,
  RingRecordTooLargeError,
  RingStateError,
  type SerializedError,
  ShardExitError,
  ShardMessageTooLargeError,
  ShardRestartBudgetError,
  SockshardError,
  type SockshardErrorContext,
  SyscallError,
  type SyscallErrorContext,
  TlsCredentialsError,
  UnknownShardError,
} from './errors.js';
export {
  defineFastHttpHandler,
  defineHttp2Handler,
  defineHttpHandler,
  defineIcmpHandler,
  defineTcpHandler,
  defineTlsHandler,
  defineUdpHandler,
  type FastBody,
  type FastHeaders,
  type FastHttpHandler,
  type FastHttpRequestHandler,
  type FastRequest,
  type FastResponse,
  type FastResponseInit,
  type Http2Handler,
  type Http2RequestHandler,
  type HttpHandler,
  type HttpRequestHandler,
  type IcmpHandler,
  type OffloadOptions,
  type ShardContext,
  type ShardMessageHook,
  type TcpHandler,
  type TlsHandler,
  type UdpContext,
  type UdpHandler,
  type UdpPeer,
} from './handler.js';
// The key types of IcmpStats' `routed` and `dropped` counters.
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
// ShardStats.controlRing; the ring itself is `sockshard/ring`.
export type { RingStats } from './ring/index.js';
