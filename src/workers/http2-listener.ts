import type { IncomingMessage, ServerResponse } from 'node:http';
import http2 from 'node:http2';
import type net from 'node:net';
import type { Http2Handler, ShardContext } from '../handler.js';
import {
  COUNTER_H2_SESSIONS,
  COUNTER_H2_SESSIONS_CUT,
  COUNTER_H2_STREAMS,
  COUNTER_IDLE_TIMEOUTS,
  COUNTER_REQUESTS,
  type Http2Settings,
  type TlsSettings,
} from '../protocol.js';
import { isPromise } from './is-promise.js';
import { type SecureServers, secureServersFor } from './secure-servers.js';
import type { ListenerKindModule, ListenerSetup, ShardServices, StreamListener } from './served-listener.js';

type Http2AnyServer = http2.Http2Server | http2.Http2SecureServer;
type AnyResponse = http2.Http2ServerResponse | ServerResponse;

const { NGHTTP2_ENHANCE_YOUR_CALM, NGHTTP2_INTERNAL_ERROR, NGHTTP2_NO_ERROR } = http2.constants;

/**
 * `engine.http2()`: node:http2 in each shard, over TLS with ALPN (a pair of secure servers, one per
 * ticket-key period, secure-servers.ts; `allowHTTP1` lets HTTP/1.1 clients in through the same servers) or
 * in cleartext (h2c, prior knowledge). Every stream of a connection is served here, in the shard that
 * owns the connection.
 *
 * Abuse: nghttp2 ends sessions that send garbage or oversized header blocks (Node 22+ then destroys them;
 * Node 20 sends the GOAWAY but keeps the socket, so such a session ends at `sessionIdleTimeoutMs`), and
 * this listener ends a session whose client resets more than `maxResetsPerWindow` streams per
 * `resetWindowMs` (the "rapid reset" flood, CVE-2023-44487) with ENHANCE_YOUR_CALM, before nghttp2's own
 * limit. Each cut session is counted (`h2SessionsCut`); the shard serves on.
 */
class Http2Listener implements StreamListener {
  readonly transport = 'stream';
  readonly allowHalfOpen = false;
  readonly peeksFirst: boolean;
  readonly timesIdle = true;
  readonly servers: readonly Http2AnyServer[];
  readonly #pair: SecureServers | undefined;
  readonly #handler: Http2Handler;
  readonly #context: ShardContext;
  readonly #shard: ShardServices;
  readonly #listenerId: number;
  readonly #settings: Http2Settings;
  readonly #sessions = new Set<http2.ServerHttp2Session>();
  /** Streams this side reset (a failed handler): not the client's resets. */
  readonly #resetHere = new WeakSet<http2.Http2Stream>();
  /** The response whose handler is running synchronously right now (see HttpListener). */
  #inFlight: AnyResponse | undefined;

  constructor(setup: ListenerSetup) {
    const { handler, context, shard, spec } = setup;
    this.#handler = handler as Http2Handler;
    this.#context = context;
    this.#shard = shard;
    this.#listenerId = spec.id;
    this.#settings = spec.http2!;
    const options = serverOptions(this.#settings);
    if (spec.tls === undefined) {
      this.#pair = undefined;
      this.peeksFirst = false;
      this.servers = [http2.createServer(options)];
    } else {
      const allowHTTP1 = this.#settings.allowHTTP1;
      this.#pair = secureServersFor(
        setup,
        (tlsOptions) => http2.createSecureServer({ ...options, ...tlsOptions, allowHTTP1 }),
        false,
      );
      this.peeksFirst = true;
      this.servers = this.#pair.servers as http2.Http2SecureServer[];
    }
    for (const server of this.servers) this.#wire(server);
  }

  #wire(server: Http2AnyServer): void {
    server.on('session', (session: http2.ServerHttp2Session) => this.#guard(session));
    server.on('stream', () => this.#shard.count(COUNTER_H2_STREAMS));
    // 'sessionError' comes with the session's own 'error', which #guard counts.
    server.on('sessionError', () => {});
    const { stream, request } = this.#handler;
    if (stream !== undefined) {
      server.on('stream', (h2stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) =>
        this.#stream(stream.bind(this.#handler), h2stream, headers),
      );
    } else if (request !== undefined) {
      server.on('request', (req: http2.Http2ServerRequest | IncomingMessage, res: AnyResponse) =>
        this.#request(request, req, res),
      );
    }
  }

  serve(socket: net.Socket): void {
    if (this.#pair === undefined) this.servers[0]!.emit('connection', socket);
    else this.#pair.serve(socket);
  }

  setSecureContext(settings: TlsSettings): void {
    this.#pair?.setSecureContext(settings);
  }

  /** Counts the session, times it idle, and ends it for a reset flood or a protocol error. */
  #guard(session: http2.ServerHttp2Session): void {
    this.#shard.count(COUNTER_H2_SESSIONS);
    this.#sessions.add(session);
    let cut = false;
    const cutOff = (): void => {
      if (cut) return;
      cut = true;
      this.#shard.count(COUNTER_H2_SESSIONS_CUT);
    };
    session.once('close', () => this.#sessions.delete(session));
    // nghttp2 found a protocol error (garbage, a header block too large, a CONTINUATION flood): Node has
    // sent GOAWAY and destroys the session after this event.
    session.on('error', cutOff);
    const { sessionIdleTimeoutMs, maxResetsPerWindow, resetWindowMs } = this.#settings;
    if (sessionIdleTimeoutMs > 0) {
      session.setTimeout(sessionIdleTimeoutMs, () => {
        this.#shard.count(COUNTER_IDLE_TIMEOUTS);
        session.destroy();
      });
    }
    let windowStart = 0;
    let resets = 0;
    session.on('stream', (stream: http2.ServerHttp2Stream) => {
      stream.on('error', () => {});
      // A stream closed by an RST_STREAM this side did not send (#resetHere marks those): the client
      // reset it. Counted whether or not the handler had answered: a flood's requests are answered at once.
      stream.once('close', () => {
        if (stream.rstCode === NGHTTP2_NO_ERROR || this.#resetHere.has(stream)) return;
        const now = performance.now();
        if (now - windowStart > resetWindowMs) {
          windowStart = now;
          resets = 0;
        }
        if (++resets <= maxResetsPerWindow || session.destroyed) return;
        cutOff();
        session.goaway(NGHTTP2_ENHANCE_YOUR_CALM);
        session.destroy();
      });
    });
  }

  #request(
    request: NonNullable<Http2Handler['request']>,
    req: http2.Http2ServerRequest | IncomingMessage,
    res: AnyResponse,
  ): void {
    this.#shard.count(COUNTER_REQUESTS);
    // No try/catch, as in HttpListener: a synchronous throw reaches claimUncaught.
    this.#inFlight = res;
    const result = request(req, res, this.#context);
    this.#inFlight = undefined;
    if (isPromise(result)) result.catch((error: unknown) => this.#requestFailed(res, error));
  }

  #stream(
    stream: NonNullable<Http2Handler['stream']>,
    h2stream: http2.ServerHttp2Stream,
    headers: http2.IncomingHttpHeaders,
  ): void {
    this.#shard.count(COUNTER_REQUESTS);
    try {
      const result = stream(h2stream, headers, this.#context);
      if (isPromise(result)) result.catch((error: unknown) => this.#streamFailed(h2stream, error));
    } catch (error) {
      this.#streamFailed(h2stream, error);
    }
  }

  claimUncaught(error: unknown): boolean {
    const inFlight = this.#inFlight;
    if (inFlight === undefined) return false;
    this.#inFlight = undefined;
    this.#requestFailed(inFlight, error);
    return true;
  }

  #requestFailed(response: AnyResponse, error: unknown): void {
    if (response.headersSent) {
      if ('stream' in response) this.#reset(response.stream);
      else response.socket?.destroy();
    } else {
      response.writeHead(500, { 'content-type': 'text/plain' });
      response.end('internal server error\n');
    }
    this.#shard.reportHandlerError(this.#listenerId, error);
  }

  #streamFailed(stream: http2.ServerHttp2Stream, error: unknown): void {
    this.#reset(stream);
    this.#shard.reportHandlerError(this.#listenerId, error);
  }

  #reset(stream: http2.Http2Stream): void {
    if (stream.destroyed) return;
    this.#resetHere.add(stream);
    stream.close(NGHTTP2_INTERNAL_ERROR);
  }

  /** GOAWAY to every session: clients finish their streams and open no new ones here. */
  async drain(): Promise<void> {
    for (const session of this.#sessions) session.close();
  }
}

function serverOptions(settings: Http2Settings): http2.ServerOptions {
  return {
    settings: {
      maxConcurrentStreams: settings.maxConcurrentStreams,
      maxHeaderListSize: settings.maxHeaderListSize,
    },
    maxSessionMemory: settings.maxSessionMemory,
    maxSessionInvalidFrames: settings.maxSessionInvalidFrames,
    maxSessionRejectedStreams: settings.maxSessionRejectedStreams,
  };
}

export const http2ListenerKind: ListenerKindModule = {
  entryPoints: ['request', 'stream'],
  defineHelper: 'defineHttp2Handler',
  bareFunction: 'request',
  async create(setup) {
    const listener = new Http2Listener(setup);
    for (const server of listener.servers)
      await (setup.handler as Http2Handler).setup?.(setup.context, server);
    return listener;
  },
};
