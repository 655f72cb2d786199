import type net from 'node:net';
import type { ShardContext, TcpHandler } from '../handler.js';
import { isPromise } from './is-promise.js';
import type { ListenerKindModule, ListenerSetup, StreamListener } from './served-listener.js';

/**
 * `engine.tcp()`: each connection goes to the handler's `connection(socket, context)`. (`engine.tls()` gives
 * it the TLS socket once the handshake is done: tls-listener.ts.)
 */
export class TcpListener implements StreamListener {
  readonly transport = 'stream';
  readonly allowHalfOpen = false;
  readonly #handler: TcpHandler;
  readonly #context: ShardContext;
  readonly #reportHandlerError: (error: unknown) => void;

  constructor({ handler, context, shard, spec }: ListenerSetup) {
    this.#handler = handler as TcpHandler;
    this.#context = context;
    this.#reportHandlerError = (error) => shard.reportHandlerError(spec.id, error);
  }

  serve(socket: net.Socket): void {
    try {
      const result = this.#handler.connection(socket, this.#context);
      if (isPromise(result)) result.catch((error: unknown) => this.#connectionFailed(socket, error));
    } catch (error) {
      this.#connectionFailed(socket, error);
    }
  }

  /** A throw or a rejection costs that connection only. */
  #connectionFailed(socket: net.Socket, error: unknown): void {
    socket.destroy();
    this.#reportHandlerError(error);
  }

  async drain(): Promise<void> {
    try {
      await this.#handler.drain?.(this.#context);
    } catch (error) {
      this.#reportHandlerError(error);
    }
  }
}

export const tcpListenerKind: ListenerKindModule = {
  entryPoints: ['connection'],
  defineHelper: 'defineTcpHandler',
  async create(setup) {
    await (setup.handler as TcpHandler).setup?.(setup.context);
    return new TcpListener(setup);
  },
};
