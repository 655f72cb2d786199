import https from 'node:https';
import type { HttpHandler } from '../handler.js';
import { HttpListener } from './http-listener.js';
import { secureServersFor } from './secure-servers.js';
import type { ListenerKindModule } from './served-listener.js';

/**
 * `engine.https()`: engine.http()'s serving (handler contract, timeouts, error replies, drain) over a pair
 * of node:https servers (secure-servers.ts: one per ticket-key period). The handshake runs here, in the
 * shard that owns the connection.
 */
export const httpsListenerKind: ListenerKindModule = {
  entryPoints: ['request'],
  defineHelper: 'defineHttpHandler',
  bareFunction: 'request',
  async create(setup) {
    const listener = new HttpListener(setup, (options, onRequest) => {
      const pair = secureServersFor(setup, (tlsOptions) =>
        https.createServer({ ...options, ...tlsOptions }, onRequest),
      );
      return {
        servers: pair.servers as https.Server[],
        // As node:https's own server makes them.
        allowHalfOpen: false,
        peeksFirst: true,
        timesIdle: true,
        connectionEvent: 'secureConnection',
        serve: (socket) => pair.serve(socket),
        setSecureContext: (settings) => pair.setSecureContext(settings),
      };
    });
    // Once per server of the pair, so an 'upgrade' (or any) listener it adds serves every connection.
    for (const server of listener.servers)
      await (setup.handler as HttpHandler).setup?.(setup.context, server);
    return listener;
  },
};
