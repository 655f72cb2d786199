export { type CloseOptions, createEngine, Engine, type EngineEvents } from './engine/engine.js';
export type { EngineStats, ListenerStats, ShardStats, UdpPortStats } from './engine/engine-stats.js';
export type {
  BalanceStrategy,
  ConnectionLimits,
  EngineOptions,
  HandlerModule,
  HttpOptions,
  RestartPolicy,
  TcpOptions,
  UdpOptions,
} from './engine/options.js';
export * from './errors.js';
export {
  defineHttpHandler,
  defineTcpHandler,
  defineUdpHandler,
  type HttpHandler,
  type HttpRequestHandler,
  type ShardContext,
  type ShardMessageHook,
  type TcpHandler,
  type UdpContext,
  type UdpHandler,
  type UdpPeer,
} from './handler.js';
export * from './ring/index.js';
