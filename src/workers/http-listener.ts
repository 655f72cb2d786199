import http from 'node:http';
import type net from 'node:net';
import type stream from 'node:stream';
import { HandlerLoadError } from '../errors.js';
import type { HttpHandler } from '../handler.js';
import {
  COUNTER_HTTP_BAD_REQUESTS,
  COUNTER_HTTP_TIMEOUTS,
  COUNTER_REQUESTS,
  COUNTER_SOCKET_ERRORS,
  type ListenerSpec,
  type TlsSettings,
} from '../protocol.js';
import { isPromise } from './is-promise.js';
import {
  DRAIN_POLL_MS,
  DRAIN_QUIET_MS,
  type ListenerKindModule,
  type ListenerSetup,
  type ShardServices,
  type StreamListener,
} from './served-listener.js';

/** llhttp's error codes (HPE_INVALID_METHOD, HPE_HEADER_OVERFLOW, ...): what node:http could not parse. */
const PARSE_ERROR_PREFIX = 'HPE_';
/** The parser's error for a connection that ended in the middle of a request. */
const CUT_SHORT = 'HPE_INVALID_EOF_STATE';
/** node:http's own record of the response in progress on a socket (what `http-terminator` reads too). */
type HttpSocket = net.Socket & { _httpMessage?: http.ServerResponse | null };

/** A connection's read count when a draining listener last saw it change. */
interface Quiet {
  readonly bytesRead: number;
  readonly since: number;
}

/**
 * The server(s) an HTTP listener feeds its connections to: one `node:http` server for `engine.http()`, a
 * pair of `node:https` servers for `engine.https()` (https-listener.ts: one per ticket-key period).
 */
export interface HttpServing {
  readonly servers: readonly http.Server[];
  /** Half-open sockets, as these servers want them. */
  readonly allowHalfOpen: boolean;
  /** The listener reads a connection's first bytes itself (StreamListener.peeksFirst). */
  readonly peeksFirst: boolean;
  /** The servers read the socket's handle themselves (TLS), so they time idle connections (see StreamListener). */
  readonly timesIdle: boolean;
  /** The servers' event that hands node:http a connection ('secureConnection' for TLS: the TLS socket). */
  readonly connectionEvent: 'connection' | 'secureConnection';
  serve(socket: net.Socket): void;
  setSecureContext?(settings: TlsSettings): void;
}

/** Makes a listener's server(s) with these options and this request listener. */
export type MakeHttpServing = (options: http.ServerOptions, onRequest: http.RequestListener) => HttpServing;

/** `engine.http()`: one node:http server; as its own server does, half-open sockets allowed. */
const plainHttp: MakeHttpServing = (options, onRequest) => {
  const server = http.createServer(options, onRequest);
  return {
    servers: [server],
    allowHalfOpen: true,
    peeksFirst: false,
    timesIdle: false,
    connectionEvent: 'connection',
    serve: (socket) => server.emit('connection', socket),
  };
};

/**
 * `engine.http()` (and `engine.https()`): a `node:http` server in each shard that never listens (the
 * coordinator accepts); each adopted connection is emitted into it, and its requests go to the handler's
 * `request`.
 */
export class HttpListener implements StreamListener {
  readonly transport = 'stream';
  readonly allowHalfOpen: boolean;
  readonly peeksFirst: boolean;
  readonly timesIdle: boolean;
  readonly servers: readonly http.Server[];
  readonly #serving: HttpServing;
  readonly #listenerId: number;
  readonly #shard: ShardServices;
  /** The response whose handler is running synchronously right now (see the request listener). */
  #inFlight: http.ServerResponse | undefined;
  #idlePoll: NodeJS.Timeout | undefined;
  /** Every response from now on says `Connection: close` (the shard is draining). */
  #draining = false;
  readonly #sockets = new Set<HttpSocket>();
  readonly #quiet = new Map<HttpSocket, Quiet>();

  constructor({ handler, context, shard, spec }: ListenerSetup, make: MakeHttpServing = plainHttp) {
    this.#listenerId = spec.id;
    this.#shard = shard;
    const { request } = handler as HttpHandler;
    this.#serving = make(serverOptions(spec), (req, res) => {
      shard.count(COUNTER_REQUESTS);
      if (this.#draining) res.setHeader('connection', 'close');
      // No try/catch here: V8 inlines a hot handler into this listener, and inside a try block the inlined
      // code ran 3-4x slower (a 0.2 ms CPU-bound handler took 0.55-0.8 ms on Node 20). A synchronous throw
      // reaches the shard's uncaughtException hook instead, which hands it to `claimUncaught`.
      this.#inFlight = res;
      const result = request(req, res, context);
      this.#inFlight = undefined;
      if (isPromise(result)) result.catch((error: unknown) => this.#requestFailed(res, error));
    });
    this.servers = this.#serving.servers;
    this.allowHalfOpen = this.#serving.allowHalfOpen;
    this.peeksFirst = this.#serving.peeksFirst;
    this.timesIdle = this.#serving.timesIdle;
    const settings = spec.http ?? {};
    for (const server of this.servers) {
      if (settings.keepAliveTimeout !== undefined) server.keepAliveTimeout = settings.keepAliveTimeout;
      if (settings.headersTimeout !== undefined) server.headersTimeout = settings.headersTimeout;
      if (settings.requestTimeout !== undefined) server.requestTimeout = settings.requestTimeout;
      if (settings.maxRequestsPerSocket !== undefined)
        server.maxRequestsPerSocket = settings.maxRequestsPerSocket;
      server.on('clientError', (error: NodeJS.ErrnoException, socket) => this.#clientError(error, socket));
      server.on(this.#serving.connectionEvent, (socket: HttpSocket) => this.#track(socket));
      // node:http starts its header/request timeout checks on 'listening'. This server never listens (the
      // coordinator accepts), so start them the same way; without this, slow clients would never time out.
      server.emit('listening');
    }
  }

  serve(socket: net.Socket): void {
    this.#serving.serve(socket);
  }

  setSecureContext(settings: TlsSettings): void {
    this.#serving.setSecureContext?.(settings);
  }

  /** Each connection as node:http sees it (for TLS, the TLS socket), so a drain can find its response. */
  #track(socket: HttpSocket): void {
    this.#sockets.add(socket);
    socket.once('close', () => {
      this.#sockets.delete(socket);
      this.#quiet.delete(socket);
    });
  }

  claimUncaught(error: unknown): boolean {
    const inFlight = this.#inFlight;
    if (inFlight === undefined) return false;
    this.#inFlight = undefined;
    this.#requestFailed(inFlight, error);
    return true;
  }

  /**
   * Closes every keep-alive connection after its current response: responses not yet started (and every
   * later one) say `Connection: close`, so node:http ends the connection once they are sent; and a
   * connection with no response in progress is closed once it has been quiet for DRAIN_QUIET_MS, checked
   * every DRAIN_POLL_MS (node:http has no event for a connection going idle), until the shard closes this
   * listener.
   */
  async drain(): Promise<void> {
    this.#draining = true;
    for (const socket of this.#sockets) {
      const response = socket._httpMessage;
      if (response?.headersSent === false) response.setHeader('connection', 'close');
    }
    this.#closeQuiet();
    this.#idlePoll = setInterval(() => this.#closeQuiet(), DRAIN_POLL_MS);
  }

  #closeQuiet(): void {
    const now = performance.now();
    for (const socket of this.#sockets) {
      const seen = this.#quiet.get(socket);
      if (socket._httpMessage != null || seen === undefined || seen.bytesRead !== socket.bytesRead) {
        this.#quiet.set(socket, { bytesRead: socket.bytesRead, since: now });
      } else if (now - seen.since >= DRAIN_QUIET_MS) {
        socket.destroy();
      }
    }
  }

  close(): void {
    clearInterval(this.#idlePoll);
  }

  /**
   * A malformed request or a slow client (headersTimeout/requestTimeout: slowloris). Answered as node:http
   * answers by default (408, 431 or 400, then the connection ends), and counted. A client that breaks the
   * connection off in the middle of a request is counted once, as a socket error: node:http passes on the
   * socket's own error (a reset), which the shard has counted already, or, when the reset or a FIN reached
   * the socket as an end of stream, the parser's complaint about a request cut short. No one is left to
   * answer either.
   */
  #clientError(error: NodeJS.ErrnoException, socket: stream.Duplex): void {
    const timeout = error.code === 'ERR_HTTP_REQUEST_TIMEOUT';
    if (!timeout && error.code?.startsWith(PARSE_ERROR_PREFIX) !== true) {
      socket.destroy();
      return;
    }
    if (error.code === CUT_SHORT) {
      this.#shard.count(COUNTER_SOCKET_ERRORS);
      socket.destroy();
      return;
    }
    this.#shard.count(timeout ? COUNTER_HTTP_TIMEOUTS : COUNTER_HTTP_BAD_REQUESTS);
    if (socket.writable) {
      const status = timeout
        ? '408 Request Timeout'
        : error.code === 'HPE_HEADER_OVERFLOW'
          ? '431 Request Header Fields Too Large'
          : '400 Bad Request';
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    }
    socket.destroy();
  }

  /** A handler that threw or rejected: 500 if nothing was sent yet, else the connection ends. */
  #requestFailed(response: http.ServerResponse, error: unknown): void {
    if (response.headersSent) {
      response.socket?.destroy();
    } else {
      response.writeHead(500, { 'content-type': 'text/plain', connection: 'close' });
      response.end('internal server error\n');
    }
    this.#shard.reportHandlerError(this.#listenerId, error);
  }
}

/** The `http.createServer` options among the listener's settings. */
function serverOptions(spec: ListenerSpec): http.ServerOptions {
  const { maxHeaderSize, connectionsCheckingInterval } = spec.http ?? {};
  return {
    ...(maxHeaderSize === undefined ? {} : { maxHeaderSize }),
    ...(connectionsCheckingInterval === undefined ? {} : { connectionsCheckingInterval }),
  };
}

export const httpListenerKind: ListenerKindModule = {
  entryPoints: ['request'],
  defineHelper: 'defineHttpHandler',
  bareFunction: 'request',
  async create(setup) {
    if ((setup.handler as { api?: unknown }).api === 'fast') {
      throw new HandlerLoadError(
        setup.spec.handler,
        "is a fast HTTP handler (defineFastHttpHandler): serve it with engine.http({ api: 'fast', ... })",
      );
    }
    const listener = new HttpListener(setup);
    await (setup.handler as HttpHandler).setup?.(setup.context, listener.servers[0]!);
    return listener;
  },
};
