import type net from 'node:net';
import tls from 'node:tls';
import type { ShardContext, TlsHandler } from '../handler.js';
import type { TlsSettings } from '../protocol.js';
import { isPromise } from './is-promise.js';
import { type SecureServers, secureServersFor } from './secure-servers.js';
import type { ListenerKindModule, ListenerSetup, StreamListener } from './served-listener.js';

/** `engine.tls()`: engine.tcp()'s contract, after a handshake that runs in this shard. */
class TlsListener implements StreamListener {
  readonly transport = 'stream';
  readonly allowHalfOpen = false;
  readonly peeksFirst = true;
  readonly timesIdle = true;
  readonly #pair: SecureServers;
  readonly #handler: TlsHandler;
  readonly #context: ShardContext;
  readonly #reportHandlerError: (error: unknown) => void;

  constructor(setup: ListenerSetup) {
    const { handler, context, shard, spec } = setup;
    this.#handler = handler as TlsHandler;
    this.#context = context;
    this.#reportHandlerError = (error) => shard.reportHandlerError(spec.id, error);
    const alpn = spec.tls?.alpnProtocols;
    this.#pair = secureServersFor(setup, (options) =>
      tls.createServer(
        { ...options, ...(alpn === undefined ? {} : { ALPNProtocols: [...alpn] }) },
        (socket) => this.#connection(socket),
      ),
    );
  }

  serve(socket: net.Socket): void {
    this.#pair.serve(socket);
  }

  setSecureContext(settings: TlsSettings): void {
    this.#pair.setSecureContext(settings);
  }

  #connection(socket: tls.TLSSocket): void {
    // The raw socket's 'error' is counted by the shard; the TLS socket's must not end the thread either.
    socket.on('error', () => {});
    try {
      const result = this.#handler.connection(socket, this.#context);
      if (isPromise(result)) result.catch((error: unknown) => this.#connectionFailed(socket, error));
    } catch (error) {
      this.#connectionFailed(socket, error);
    }
  }

  #connectionFailed(socket: tls.TLSSocket, error: unknown): void {
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

export const tlsListenerKind: ListenerKindModule = {
  entryPoints: ['connection'],
  defineHelper: 'defineTlsHandler',
  async create(setup) {
    await (setup.handler as TlsHandler).setup?.(setup.context);
    return new TlsListener(setup);
  },
};
