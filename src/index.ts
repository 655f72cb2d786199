export { type CloseOptions, createEngine, Engine, type EngineEvents } from './engine/engine.js';
export type { EngineStats, ListenerStats, ShardStats } from './engine/engine-stats.js';
export type {
  BalanceStrategy,
  EngineOptions,
  HandlerModule,
  HttpOptions,
  TcpOptions,
} from './engine/options.js';
export * from './errors.js';
export {
  defineHttpHandler,
  defineTcpHandler,
  type HttpHandler,
  type HttpRequestHandler,
  type ShardContext,
  type TcpHandler,
} from './handler.js';
export * from './ring/index.js';
