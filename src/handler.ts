/**
 * What a handler module exports. A handler module is a file that sockshard imports in every shard; its
 * default export is built with `defineTcpHandler` or `defineHttpHandler`, which only add types.
 *
 * @example
 * ```ts
 * // echo.ts
 * import { defineTcpHandler } from 'sockshard';
 * export default defineTcpHandler({
 *   connection(socket) {
 *     socket.pipe(socket);
 *   },
 * });
 * ```
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** Where a handler runs: its shard, and the listener that delivered the connection. */
export interface ShardContext {
  /** This shard's index, 0..shards-1. */
  readonly shardId: number;
  /** How many shards the engine runs. */
  readonly shards: number;
  /** The listener (in the order `engine.tcp()` / `engine.http()` were called, from 0). */
  readonly listenerId: number;
}

export interface TcpHandler {
  /**
   * A new connection, already adopted by this shard. A throw (or a rejected promise) destroys this
   * connection and is reported through the engine's `handler-error` event; the shard serves on.
   */
  connection(socket: Socket, context: ShardContext): void | Promise<void>;
  /** Called once per shard before it accepts connections; a throw fails `engine.start()`. */
  setup?(context: ShardContext): void | Promise<void>;
  /** `engine.close()` began: finish or end connections gently; whatever is still open at the timeout is destroyed. */
  drain?(context: ShardContext): void | Promise<void>;
}

export type HttpRequestHandler = (
  request: IncomingMessage,
  response: ServerResponse,
  context: ShardContext,
) => void | Promise<void>;

export interface HttpHandler {
  /**
   * One request. A throw or a rejected promise answers 500 (if nothing was sent yet), ends that connection
   * and is reported through the engine's `handler-error` event; the shard serves on.
   */
  request: HttpRequestHandler;
  /** Called once per shard with its `node:http` server (add 'upgrade' listeners and such here). */
  setup?(context: ShardContext, server: Server): void | Promise<void>;
}

/** Types a TCP handler module's default export. */
export function defineTcpHandler<T extends TcpHandler>(handler: T): T {
  return handler;
}

/** Types an HTTP handler module's default export; a bare request function is accepted too. */
export function defineHttpHandler(handler: HttpHandler | HttpRequestHandler): HttpHandler {
  return typeof handler === 'function' ? { request: handler } : handler;
}
