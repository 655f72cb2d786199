import http from 'node:http';
import type net from 'node:net';
import { AdoptError, HandlerLoadError } from '../errors.js';
import type { FastHttpHandler } from '../handler.js';
import type { FastListener } from './fast-http/connection.js';
import { FastHttpServer } from './fast-http/server.js';
import type { ListenerKindModule, ListenerSetup, ShardServices, StreamListener } from './served-listener.js';

/** node:http's defaults, which the fast path shares (lib/_http_server.js). */
const NODE_KEEP_ALIVE_TIMEOUT = 5000;
const NODE_HEADERS_TIMEOUT = 60_000;
const NODE_REQUEST_TIMEOUT = 300_000;
const NODE_CONNECTIONS_CHECKING_INTERVAL = 30_000;

/** This shard's fast path, shared by its fast listeners (one llhttp instance, one stream group). */
let shared: { server: FastHttpServer; listeners: number } | undefined;

/**
 * `engine.http({ api: 'fast' })`: sockshard's own HTTP/1.1 server (src/workers/fast-http). The shard hands
 * this listener raw fds (`adoptFd`), which the native stream group reads and writes; llhttp parses; the
 * handler gets a lean request and returns its response.
 */
class FastHttpListener implements StreamListener {
  readonly transport = 'stream';
  readonly allowHalfOpen = true;
  readonly #fast: FastListener;
  readonly #server: FastHttpServer;
  readonly #shard: ShardServices;

  constructor({ handler, context, shard, spec }: ListenerSetup, server: FastHttpServer) {
    const settings = spec.http ?? {};
    const requestTimeout = settings.requestTimeout ?? NODE_REQUEST_TIMEOUT;
    this.#shard = shard;
    this.#server = server;
    this.#fast = {
      id: spec.id,
      handler: (handler as FastHttpHandler).request,
      context,
      settings: {
        keepAliveTimeout: settings.keepAliveTimeout ?? NODE_KEEP_ALIVE_TIMEOUT,
        // As node:http: headersTimeout is 60 s, or requestTimeout if that is shorter.
        headersTimeout:
          settings.headersTimeout ??
          (requestTimeout > 0 ? Math.min(NODE_HEADERS_TIMEOUT, requestTimeout) : NODE_HEADERS_TIMEOUT),
        requestTimeout,
        maxHeaderSize: settings.maxHeaderSize ?? http.maxHeaderSize,
        maxRequestsPerSocket: settings.maxRequestsPerSocket ?? 0,
        idleTimeoutMs: spec.idleTimeoutMs ?? 0,
      },
    };
    server.addListener(
      this.#fast,
      settings.connectionsCheckingInterval ?? NODE_CONNECTIONS_CHECKING_INTERVAL,
    );
  }

  adoptFd(fd: number, closed: () => void): void {
    this.#server.adopt(fd, this.#fast, closed);
  }

  /** Never called: the shard hands this kind raw fds only (the engine gives it the native handoff). */
  serve(socket: net.Socket): void {
    socket.destroy();
    this.#shard.reportFault(
      this.#fast.id,
      new AdoptError(
        this.#shard.shardId,
        this.#fast.id,
        'a fast HTTP listener takes raw fds, not a net.Socket',
      ),
    );
  }

  async drain(): Promise<void> {
    this.#server.drain(this.#fast.id);
  }

  close(): void {
    if (shared === undefined) return;
    this.#server.close(this.#fast.id);
    if (--shared.listeners === 0) shared = undefined;
  }
}

export const fastHttpListenerKind: ListenerKindModule = {
  entryPoints: ['request'],
  defineHelper: 'defineFastHttpHandler',
  async create(setup) {
    const handler = setup.handler as Partial<FastHttpHandler>;
    // node:http handlers take (request, response, context): one must not run here by mistake.
    if (handler.api !== 'fast') {
      throw new HandlerLoadError(
        setup.spec.handler,
        "must export default defineFastHttpHandler(...) for an engine.http({ api: 'fast' }) listener",
      );
    }
    await handler.setup?.(setup.context);
    shared ??= {
      server: new FastHttpServer({
        count: (counter) => setup.shard.count(counter),
        reportHandlerError: (listenerId, error) => setup.shard.reportHandlerError(listenerId, error),
      }),
      listeners: 0,
    };
    shared.listeners++;
    return new FastHttpListener(setup, shared.server);
  },
};
