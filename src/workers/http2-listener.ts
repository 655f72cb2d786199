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
 * How often per `sessionIdleTimeoutMs` the idle sweep runs: an idle session ends after between 1 and
 * 1 + 1/IDLE_SWEEPS_PER_TIMEOUT of the timeout.
 */
const IDLE_SWEEPS_PER_TIMEOUT = 4;

/** What the listener keeps per session: its idle clock and its client's stream resets. */
interface SessionState {
  /** The socket's bytes read + written at the last sweep that saw them change, and when that was. */
  traffic: number;
  activeSince: number;
  /** Client resets in the current window. */
  resets: number;
  windowStart: number;
  cut: boolean;
}

function ignore(): void {}

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
  readonly #sessions = new Map<http2.ServerHttp2Session, SessionState>();
  readonly #idleSweep: NodeJS.Timeout | undefined;
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
    const { sessionIdleTimeoutMs } = this.#settings;
    this.#idleSweep =
      sessionIdleTimeoutMs > 0
        ? setInterval(
            () => this.#sweepIdle(sessionIdleTimeoutMs),
            Math.ceil(sessionIdleTimeoutMs / IDLE_SWEEPS_PER_TIMEOUT),
          ).unref()
        : undefined;
  }

  #wire(server: Http2AnyServer): void {
    server.on('session', (session: http2.ServerHttp2Session) => this.#guard(session));
    // 'sessionError' comes with the session's own 'error', which #guard counts.
    server.on('sessionError', ignore);
    const { request } = this.#handler;
    const stream = this.#handler.stream?.bind(this.#handler);
    if (stream !== undefined) {
      server.on('stream', (h2stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) =>
        this.#stream(stream, h2stream, headers),
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

  /**
   * Counts the session and its streams, and ends it for a reset flood or a protocol error; #sweepIdle
   * times it. Everything here runs for every stream, so it allocates per session, not per stream.
   */
  #guard(session: http2.ServerHttp2Session): void {
    this.#shard.count(COUNTER_H2_SESSIONS);
    const state: SessionState = {
      traffic: -1,
      activeSince: performance.now(),
      resets: 0,
      windowStart: 0,
      cut: false,
    };
    this.#sessions.set(session, state);
    session.once('close', () => this.#sessions.delete(session));
    // nghttp2 found a protocol error (garbage, a header block too large, a CONTINUATION flood): Node has
    // sent GOAWAY and destroys the session after this event.
    session.on('error', () => this.#cutOff(state));
    const { maxResetsPerWindow, resetWindowMs } = this.#settings;
    const resetHere = this.#resetHere;
    const listener = this;
    // A stream closed by an RST_STREAM this side did not send (#resetHere marks those): the client reset
    // it. Counted whether or not the handler had answered: a flood's requests are answered at once.
    function streamClosed(this: http2.Http2Stream): void {
      if (this.rstCode === NGHTTP2_NO_ERROR || resetHere.has(this)) return;
      const now = performance.now();
      if (now - state.windowStart > resetWindowMs) {
        state.windowStart = now;
        state.resets = 0;
      }
      if (++state.resets <= maxResetsPerWindow || session.destroyed) return;
      listener.#cutOff(state);
      session.goaway(NGHTTP2_ENHANCE_YOUR_CALM);
      session.destroy();
    }
    session.on('stream', (stream: http2.ServerHttp2Stream) => {
      this.#shard.count(COUNTER_H2_STREAMS);
      // A client's reset may error the stream; it is the client's business, not the shard's.
      stream.on('error', ignore);
      stream.on('close', streamClosed);
    });
  }

  #cutOff(state: SessionState): void {
    if (state.cut) return;
    state.cut = true;
    this.#shard.count(COUNTER_H2_SESSIONS_CUT);
  }

  /**
   * Ends the sessions whose socket moved no byte, either way, for `timeoutMs`, and counts them as idle
   * timeouts. A sweep rather than session.setTimeout: Node refreshes a session's timer (a clock read and a
   * timer-list move) on every frame, several times per request, which cost HTTP/2 about 2% of its CPU.
   */
  #sweepIdle(timeoutMs: number): void {
    const now = performance.now();
    for (const [session, state] of this.#sessions) {
      const socket = session.socket;
      const traffic = socket === undefined ? state.traffic : socket.bytesRead + socket.bytesWritten;
      if (traffic !== state.traffic) {
        state.traffic = traffic;
        state.activeSince = now;
      } else if (now - state.activeSince >= timeoutMs && !session.destroyed) {
        this.#shard.count(COUNTER_IDLE_TIMEOUTS);
        session.destroy();
      }
    }
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
    for (const session of this.#sessions.keys()) session.close();
  }

  close(): void {
    clearInterval(this.#idleSweep);
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
