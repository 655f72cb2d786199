import type net from 'node:net';
import tls from 'node:tls';
import type { TlsHandler } from '../handler.js';
import type { TlsSettings } from '../protocol.js';
import { type SecureServers, secureServersFor } from './secure-servers.js';
import type { ListenerKindModule, ListenerSetup, StreamListener } from './served-listener.js';
import { TcpListener } from './tcp-listener.js';

/** `engine.tls()`: engine.tcp()'s contract (TcpListener's), after a handshake that runs in this shard. */
class TlsListener implements StreamListener {
  readonly transport = 'stream';
  readonly allowHalfOpen = false;
  readonly peeksFirst = true;
  readonly timesIdle = true;
  readonly #pair: SecureServers;
  readonly #connections: TcpListener;

  constructor(setup: ListenerSetup) {
    this.#connections = new TcpListener(setup);
    const alpn = setup.spec.tls?.alpnProtocols;
    this.#pair = secureServersFor(setup, (options) =>
      tls.createServer(
        { ...options, ...(alpn === undefined ? {} : { ALPNProtocols: [...alpn] }) },
        (socket) => {
          // The raw socket's 'error' is counted by the shard; the TLS socket's must not end the thread either.
          socket.on('error', () => {});
          this.#connections.serve(socket);
        },
      ),
    );
  }

  serve(socket: net.Socket): void {
    this.#pair.serve(socket);
  }

  setSecureContext(settings: TlsSettings): void {
    this.#pair.setSecureContext(settings);
  }

  drain(): Promise<void> {
    return this.#connections.drain();
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
