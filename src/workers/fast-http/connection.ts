import type { FastBody, FastHttpRequestHandler, ShardContext } from '../../handler.js';
import {
  COUNTER_HTTP_BAD_REQUESTS,
  COUNTER_HTTP_TIMEOUTS,
  COUNTER_IDLE_TIMEOUTS,
  COUNTER_REQUESTS,
  COUNTER_SOCKET_ERRORS,
} from '../../protocol.js';
import { isPromise } from '../is-promise.js';
import { DRAIN_QUIET_MS } from '../served-listener.js';
import {
  HPE_OK,
  HPE_PAUSED,
  HPE_PAUSED_UPGRADE,
  HPE_USER,
  type Llhttp,
  type ParserEvents,
} from './llhttp.js';
import { FastRequestImpl } from './request.js';
import { type BodyFlow, RequestBody } from './request-body.js';
import {
  bodyless,
  type HeaderBlock,
  headerBlock,
  isStreamedBody,
  responseHead,
  responseParts,
  statusLine,
} from './response.js';
import type { Transport } from './transport.js';

/** The fast-path settings of one listener, resolved (0 = no limit), as engine.http's node:http settings. */
export interface FastHttpSettings {
  readonly keepAliveTimeout: number;
  readonly headersTimeout: number;
  readonly requestTimeout: number;
  readonly maxHeaderSize: number;
  readonly maxRequestsPerSocket: number;
  readonly idleTimeoutMs: number;
}

/** One fast HTTP listener as a shard serves it. */
export interface FastListener {
  readonly id: number;
  readonly handler: FastHttpRequestHandler;
  readonly context: ShardContext;
  readonly settings: FastHttpSettings;
}

/** What a connection needs from the server that owns it. */
export interface ConnectionOwner {
  readonly llhttp: Llhttp;
  readonly transport: Transport;
  /** Milliseconds, read once per batch. */
  readonly now: number;
  readonly draining: boolean;
  count(counter: number): void;
  reportHandlerError(listenerId: number, error: unknown): void;
  /** The connection is gone (closed by either side); called once. */
  closed(connection: FastConnection): void;
}

// As the node:http path answers its clientErrors (src/workers/http-listener.ts), byte for byte.
const BAD_REQUEST = 'HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n';
const HEADERS_TOO_LARGE =
  'HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\nContent-Length: 0\r\n\r\n';
const REQUEST_TIMEOUT = 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n';
const CONTINUE = 'HTTP/1.1 100 Continue\r\n\r\n';
const INTERNAL_ERROR = {
  status: 500,
  headers: { 'content-type': 'text/plain', connection: 'close' },
  body: 'internal server error\n',
};
const EXPECTATION_FAILED = { status: 417, headers: { connection: 'close' }, body: '' };
/** node:http's test for an Expect header it can meet (lib/_http_server.js). */
const CONTINUE_EXPECTATION = /(?:^|\W)100-continue(?:$|\W)/i;

/** Unanswered requests on one connection past which parsing pauses (pipelining clients wait). */
const MAX_IN_FLIGHT = 64;
/** How long an ended connection may wait for its peer's close before it is destroyed. */
const LINGER_MS = 5000;

enum Kind {
  Url,
  Field,
  Value,
}

enum State {
  /** The handler has not answered. */
  Waiting,
  /** The handler answered; the response waits for the ones before it. */
  Ready,
  /** The head is out; a streamed body is being written. */
  Streaming,
  Done,
}

/** One request and its response, in the connection's order. */
interface Exchange {
  readonly method: string;
  readonly minor: number;
  readonly bytes: Buffer;
  readonly at: number;
  readonly spans: number[];
  readonly shared: boolean;
  keepAlive: boolean;
  state: State;
  complete: boolean;
  body: RequestBody | undefined;
  /** Drop the rest of the request body as it arrives: the response is out. */
  discard: boolean;
  status: number;
  block: HeaderBlock | undefined;
  payload: FastBody;
  /** Bytes to write instead of a response (400, 408, 431): the connection ends after them. */
  raw: string | undefined;
}

/**
 * One HTTP/1.1 connection on the fast path: llhttp parses what the transport reads; each request is
 * handed to the handler once its head is complete (its body follows as it arrives); responses leave in
 * request order, however the handlers finish. Limits, timeouts and errors behave as engine.http's
 * node:http server does (see test/workers/fast-http/conformance.test.ts, which runs against both).
 */
export class FastConnection implements ParserEvents, BodyFlow {
  readonly id: number;
  readonly listener: FastListener;
  /** The shard's bookkeeping for this connection (counted closed, off its address bucket). */
  readonly onClosed: () => void;
  readonly #owner: ConnectionOwner;
  readonly #parser: number;

  // The input being parsed: `#source` from `#sourceAt`, and what a head split over reads needs.
  #source: Buffer = EMPTY;
  #sourceAt = 0;
  #inHead = false;
  #carry: Buffer | undefined;
  #bias = 0;
  #spans: number[] = [];
  #lastKind = Kind.Url;
  #spanEnd = 0;
  #headerBytes = 0;
  #overflow = false;
  /** The request whose head or body is being parsed. */
  #parsing: Exchange | undefined;
  /** Requests whose heads completed during this execute, to hand to the handler after it. */
  #ready: Exchange[] = [];
  /** Input after a pause (too many requests in flight), parsed when they are answered. */
  #leftover: Buffer | undefined;
  #parsePaused = false;
  /** A request that ends the connection was parsed: nothing after it is. */
  #stopped = false;

  #queue: Exchange[] = [];
  #requests = 0;
  /** No more requests: the connection ends after the last response. */
  #closing = false;
  #broken = false;
  #ending = false;
  #finished = false;
  #readPaused = 0;
  #streaming = false;
  /** The response just written ends the connection. */
  #lastSent = false;

  /** When the request being received began (-1: none), for headersTimeout and requestTimeout. */
  #requestStartedAt = -1;
  #headersDone = false;
  #lastActivity: number;
  #idleSince: number;
  #endedAt = -1;

  constructor(id: number, listener: FastListener, owner: ConnectionOwner, onClosed: () => void) {
    this.id = id;
    this.listener = listener;
    this.onClosed = onClosed;
    this.#owner = owner;
    this.#parser = owner.llhttp.alloc();
    this.#lastActivity = this.#idleSince = owner.now;
  }

  // ---- input -------------------------------------------------------------------------------------

  /** Bytes from the peer: `length` bytes of `source` from `at` (valid during this call only). */
  data(source: Buffer, at: number, length: number): void {
    this.#lastActivity = this.#owner.now;
    this.#reads++;
    if (this.#broken || this.#finished || this.#stopped) return;
    // Read before the pause took effect: parsed once the requests in flight are answered.
    if (this.#parsePaused) this.#keepLeftover(source, at, length);
    else this.#parse(source, at, length);
  }

  /** The peer shut its write side. */
  eof(): void {
    if (this.#finished || this.#broken) return;
    if (this.#inHead || (this.#parsing !== undefined && !this.#parsing.complete)) {
      // A request cut short: a client that broke off, counted once as a socket error and not answered,
      // as engine.http's node:http path does (src/workers/http-listener.ts): no one is left to read it.
      this.error();
      return;
    }
    this.#closing = true;
    this.#endIfDone();
  }

  /** A read or write failed (ECONNRESET, EPIPE): the connection is lost. */
  error(): void {
    this.#owner.count(COUNTER_SOCKET_ERRORS);
    this.destroy();
  }

  /** The transport closed the connection after `end` (and the peer's close). */
  closed(): void {
    this.#finish();
  }

  drained(): void {
    const waiter = this.#drainWaiter;
    this.#drainWaiter = undefined;
    waiter?.();
  }

  #drainWaiter: (() => void) | undefined;

  #parse(source: Buffer, at: number, length: number): void {
    const llhttp = this.#owner.llhttp;
    this.#source = source;
    this.#sourceAt = at;
    this.#bias = this.#carry === undefined ? 0 : this.#carry.length;
    this.#spanEnd = 0;
    let errno = llhttp.execute(this.#parser, this, source, at, length);
    if (errno === HPE_PAUSED_UPGRADE) {
      // An Upgrade request with no upgrade support is served as a plain request (node:http does so when
      // nobody listens for 'upgrade'); CONNECT cannot be, and node:http destroys the socket for it.
      if (this.#queue.at(-1)?.method === 'CONNECT') {
        this.#dispatch();
        this.destroy();
        return;
      }
      const stopped = llhttp.stoppedAt(this.#parser);
      llhttp.resumeAfterUpgrade(this.#parser);
      errno =
        stopped < length
          ? llhttp.execute(this.#parser, this, source, at + stopped, length - stopped)
          : HPE_OK;
    }
    if (errno === HPE_OK) {
      if (this.#inHead) this.#saveCarry(source, at, length);
    } else if (errno === HPE_PAUSED) {
      const stopped = llhttp.stoppedAt(this.#parser);
      if (!this.#stopped) {
        this.#parsePaused = true;
        this.#keepLeftover(source, at + stopped, length - stopped);
        this.#pauseReading(true);
      }
    }
    this.#dispatch();
    if (errno !== HPE_OK && errno !== HPE_PAUSED) {
      this.#fail(
        this.#overflow && errno === HPE_USER ? HEADERS_TOO_LARGE : BAD_REQUEST,
        COUNTER_HTTP_BAD_REQUESTS,
      );
    }
  }

  /** A head is still incomplete at the end of the input: keep its bytes, which the next read reuses. */
  #saveCarry(source: Buffer, at: number, length: number): void {
    if (this.#carry === undefined) {
      // The head began in this input; keep it from its first span (the method is in the parser's state).
      const from = this.#spans[1] === 0 && this.#spans.length <= 2 ? length : this.#spans[0]!;
      this.#carry = Buffer.from(source.subarray(at + from, at + length));
      for (let i = 0; i < this.#spans.length; i += 2) if (this.#spans[i + 1] !== 0) this.#spans[i]! -= from;
      if (this.#spans[1] === 0) this.#spans[0] = 0;
    } else {
      this.#carry = Buffer.concat([this.#carry, source.subarray(at, at + length)]);
    }
  }

  #keepLeftover(source: Buffer, at: number, length: number): void {
    if (length <= 0) return;
    const bytes = source.subarray(at, at + length);
    this.#leftover =
      this.#leftover === undefined ? Buffer.from(bytes) : Buffer.concat([this.#leftover, bytes]);
  }

  // ---- llhttp's callbacks (during execute) ---------------------------------------------------------

  onMessageBegin(): number {
    // After a request that ends the connection nothing more is served (HTTP/1.1, 9.6): stop here.
    if (this.#closing) {
      this.#stopped = true;
      return HPE_PAUSED;
    }
    this.#inHead = true;
    this.#carry = undefined;
    this.#bias = 0;
    this.#spans = [0, 0];
    this.#lastKind = Kind.Url;
    this.#headerBytes = 0;
    if (this.#requestStartedAt < 0) this.#requestStartedAt = this.#owner.now;
    this.#headersDone = false;
    return 0;
  }

  onUrl(offset: number, length: number): number {
    return this.#span(Kind.Url, offset, length);
  }

  onHeaderField(offset: number, length: number): number {
    return this.#span(Kind.Field, offset, length);
  }

  onHeaderValue(offset: number, length: number): number {
    return this.#span(Kind.Value, offset, length);
  }

  #span(kind: Kind, offset: number, length: number): number {
    // node:http counts the URL and every header name and value against maxHeaderSize (HPE_HEADER_OVERFLOW).
    this.#headerBytes += length;
    const max = this.listener.settings.maxHeaderSize;
    if (max > 0 && this.#headerBytes > max) {
      this.#overflow = true;
      return -1;
    }
    if (offset + length > this.#spanEnd) this.#spanEnd = offset + length;
    const at = offset + this.#bias;
    const spans = this.#spans;
    const last = spans.length;
    if (kind === Kind.Url) {
      // A URL split over two reads arrives in two calls: the second continues the first.
      if (spans[1] === 0) spans[0] = at;
      spans[1]! += length;
    } else if (kind === Kind.Field) {
      if (this.#lastKind === Kind.Field) spans[last - 3]! += length;
      else spans.push(at, length, 0, 0);
    } else if (this.#lastKind === Kind.Value) {
      spans[last - 1]! += length;
    } else {
      spans[last - 2] = at;
      spans[last - 1] = length;
    }
    this.#lastKind = kind;
    return 0;
  }

  onHeadersComplete(_upgrade: boolean, keepAlive: boolean): number {
    const llhttp = this.#owner.llhttp;
    let bytes: Buffer;
    let at: number;
    const shared = this.#carry === undefined;
    if (this.#carry === undefined) {
      bytes = this.#source;
      at = this.#sourceAt;
    } else {
      bytes = Buffer.concat([
        this.#carry,
        this.#source.subarray(this.#sourceAt, this.#sourceAt + this.#spanEnd),
      ]);
      at = 0;
      this.#carry = undefined;
    }
    this.#inHead = false;
    this.#headersDone = true;
    this.#requests++;
    const max = this.listener.settings.maxRequestsPerSocket;
    const last = !keepAlive || (max > 0 && this.#requests >= max);
    if (last) this.#closing = true;
    const exchange: Exchange = {
      method: llhttp.method(this.#parser),
      minor: llhttp.minorVersion(this.#parser),
      bytes,
      at,
      spans: this.#spans,
      shared: shared && this.#owner.transport.reusesInput,
      keepAlive: !last,
      state: State.Waiting,
      complete: false,
      body: undefined,
      discard: false,
      status: 200,
      block: undefined,
      payload: undefined,
      raw: undefined,
    };
    this.#spans = [0, 0];
    this.#parsing = exchange;
    this.#queue.push(exchange);
    this.#ready.push(exchange);
    return 0;
  }

  onBody(offset: number, length: number): number {
    const exchange = this.#parsing;
    if (exchange === undefined || exchange.discard) return 0;
    exchange.body ??= new RequestBody(this);
    exchange.body.push(this.#source, this.#sourceAt + offset, length);
    return 0;
  }

  onMessageComplete(): number {
    const exchange = this.#parsing;
    this.#parsing = undefined;
    this.#requestStartedAt = -1;
    if (exchange !== undefined) {
      exchange.complete = true;
      exchange.body?.end();
    }
    return this.#queue.length >= MAX_IN_FLIGHT && !this.#closing ? HPE_PAUSED : 0;
  }

  // ---- requests and responses --------------------------------------------------------------------

  /** Hands the requests whose heads completed during the last execute to the handler, in order. */
  #dispatch(): void {
    const ready = this.#ready;
    if (ready.length === 0) return;
    this.#ready = [];
    const { handler, context } = this.listener;
    for (const exchange of ready) {
      if (this.#finished || this.#broken) return;
      // A body still to come needs somewhere to go before the handler can ask for it.
      if (!exchange.complete) exchange.body ??= new RequestBody(this);
      const request = new FastRequestImpl(
        exchange.method,
        exchange.minor,
        exchange.bytes,
        exchange.at,
        exchange.spans,
        exchange.body,
      );
      // node:http's requireHostHeader (on by default): an HTTP/1.1 request without Host is answered 400 and
      // the connection closes; its handler never sees it, and node:http's path counts it nowhere either.
      if (exchange.minor === 1 && request.header('host') === undefined) {
        if (exchange.shared) request.release();
        exchange.keepAlive = false;
        this.#closing = true;
        exchange.raw = BAD_REQUEST;
        exchange.state = State.Ready;
        this.#pump();
        continue;
      }
      this.#owner.count(COUNTER_REQUESTS);
      const expect = exchange.minor === 1 ? request.header('expect') : undefined;
      if (expect !== undefined) {
        if (!CONTINUE_EXPECTATION.test(expect)) {
          exchange.keepAlive = false;
          this.#closing = true;
          this.#settle(exchange, EXPECTATION_FAILED);
          continue;
        }
        if (!exchange.complete && this.#queue[0] === exchange)
          this.#owner.transport.send(this, CONTINUE, null);
      }
      let result: unknown;
      try {
        result = handler(request, context);
      } catch (error) {
        if (exchange.shared) request.release();
        this.#failed(exchange, error);
        continue;
      }
      if (isPromise(result)) {
        if (exchange.shared) request.detach();
        (result as Promise<unknown>).then(
          (value) => this.#settle(exchange, value),
          (error: unknown) => this.#failed(exchange, error),
        );
      } else {
        if (exchange.shared) request.release();
        this.#settle(exchange, result);
      }
    }
  }

  #settle(exchange: Exchange, value: unknown): void {
    if (this.#finished || exchange.state !== State.Waiting) return;
    try {
      const parts = responseParts(value as Parameters<typeof responseParts>[0]);
      exchange.block = headerBlock(parts.headers);
      exchange.status = parts.status;
      exchange.payload = parts.body;
      // Checks the status now, so a bad one is this request's 500 and not a failure mid-write.
      statusLine(parts.status);
    } catch (error) {
      this.#failed(exchange, error);
      return;
    }
    exchange.state = State.Ready;
    this.#pump();
  }

  #failed(exchange: Exchange, error: unknown): void {
    this.#owner.reportHandlerError(this.listener.id, error);
    if (this.#finished || exchange.state === State.Done) return;
    if (exchange.state === State.Streaming) {
      this.destroy();
      return;
    }
    // The node:http path answers 500 and closes (src/workers/http-listener.ts): so does this one.
    exchange.state = State.Waiting;
    exchange.keepAlive = false;
    this.#closing = true;
    this.#settle(exchange, INTERNAL_ERROR);
  }

  /** Writes every response that is ready and whose turn it is. */
  #pump(): void {
    while (!this.#streaming && !this.#finished) {
      const exchange = this.#queue[0];
      if (exchange === undefined || exchange.state !== State.Ready) break;
      this.#write(exchange);
      if ((exchange.state as State) === State.Streaming) return;
      this.#retire(exchange);
      if (this.#lastSent) this.#dropQueue();
    }
    this.#endIfDone();
  }

  /**
   * A response that closes the connection was written: requests pipelined after it are not answered
   * (node:http destroys the socket after that response, so their responses never leave either).
   */
  #dropQueue(): void {
    for (const exchange of this.#queue) {
      exchange.body?.abort();
      exchange.state = State.Done;
    }
    this.#queue = [];
  }

  #write(exchange: Exchange): void {
    const transport = this.#owner.transport;
    if (exchange.raw !== undefined) {
      transport.send(this, exchange.raw, null);
      exchange.state = State.Done;
      this.#lastSent = true;
      this.#closing = true;
      return;
    }
    const block = exchange.block!;
    const http10 = exchange.minor === 0;
    // Each request's own verdict (its Connection header, HTTP/1.0, maxRequestsPerSocket), the handler's
    // `connection: close`, or engine.close() draining: any of them makes this the connection's last response.
    const keepAlive = exchange.keepAlive && !this.#owner.draining && !block.close;
    if (!keepAlive) {
      this.#closing = true;
      this.#lastSent = true;
    }
    const payload = exchange.payload;
    const noBody = exchange.method === 'HEAD' || bodyless(exchange.status);
    if (isStreamedBody(payload)) {
      // HTTP/1.0 has no chunked coding: the body ends with the connection.
      const streamedKeepAlive = keepAlive && !http10;
      if (!streamedKeepAlive) {
        this.#closing = true;
        this.#lastSent = true;
      }
      const head = responseHead({
        status: exchange.status,
        block,
        contentLength: -1,
        keepAlive: streamedKeepAlive,
        http10,
        now: this.#owner.now,
      });
      transport.send(this, head, null);
      if (noBody) {
        exchange.state = State.Done;
        return;
      }
      exchange.state = State.Streaming;
      this.#streaming = true;
      void this.#stream(exchange, payload, !http10);
      return;
    }
    const body = payload === undefined || payload === null ? '' : payload;
    if (typeof body !== 'string' && !(body instanceof Uint8Array)) {
      exchange.state = State.Waiting;
      this.#failed(
        exchange,
        new TypeError('a response body must be a string, a Uint8Array or an async iterable'),
      );
      return;
    }
    const length = typeof body === 'string' ? Buffer.byteLength(body) : body.length;
    const head = responseHead({
      status: exchange.status,
      block,
      contentLength: length,
      keepAlive,
      http10,
      now: this.#owner.now,
    });
    transport.send(this, head, noBody || length === 0 ? null : body);
    exchange.state = State.Done;
  }

  async #stream(
    exchange: Exchange,
    body: AsyncIterable<string | Uint8Array>,
    chunked: boolean,
  ): Promise<void> {
    const transport = this.#owner.transport;
    try {
      for await (const chunk of body) {
        if (this.#finished) return;
        const length = typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
        if (length === 0) continue;
        if (chunked) transport.sendChunk(this, `${length.toString(16)}\r\n`, chunk, '\r\n');
        else transport.sendChunk(this, '', chunk, '');
        this.#lastActivity = this.#owner.now;
        if (transport.congested(this)) await new Promise<void>((resolve) => (this.#drainWaiter = resolve));
      }
      if (this.#finished) return;
      if (chunked) transport.sendChunk(this, '0\r\n\r\n', null, '');
    } catch (error) {
      this.#failed(exchange, error);
      return;
    }
    exchange.state = State.Done;
    this.#streaming = false;
    this.#retire(exchange);
    if (this.#lastSent) this.#dropQueue();
    this.#pump();
  }

  /** A response is out: forget its request (dropping the rest of its body as it arrives). */
  #retire(exchange: Exchange): void {
    this.#queue.shift();
    if (!exchange.complete) {
      exchange.discard = true;
      exchange.body?.discard();
    }
    this.#lastActivity = this.#owner.now;
    if (this.#parsePaused && this.#queue.length < MAX_IN_FLIGHT / 2) this.#resumeParsing();
    if (this.#queue.length === 0 && this.#parsing === undefined && !this.#inHead)
      this.#idleSince = this.#owner.now;
  }

  #resumeParsing(): void {
    this.#parsePaused = false;
    const leftover = this.#leftover;
    this.#leftover = undefined;
    this.#owner.llhttp.resume(this.#parser);
    this.#pauseReading(false);
    if (leftover !== undefined) this.#parse(leftover, 0, leftover.length);
  }

  /** Ends the connection once nothing is left to answer and no more requests will be served. */
  #endIfDone(): void {
    if (this.#finished || this.#ending || this.#streaming || this.#queue.length > 0) return;
    if (!this.#closing && !this.#broken && !(this.#owner.draining && this.idle)) return;
    this.#ending = true;
    this.#endedAt = this.#owner.now;
    this.#owner.transport.end(this);
  }

  /** Answers `raw` (400, 408, 431) after what is already written, and ends: no more requests. */
  #fail(raw: string, counter: number): void {
    this.#owner.count(counter);
    this.#broken = true;
    this.#closing = true;
    this.#pauseReading(true);
    // node:http answers at once and destroys the socket, so requests still waiting for their handlers
    // get no response there; here neither (their handlers' results are ignored).
    for (const exchange of this.#queue) {
      exchange.body?.abort();
      if (exchange.state === State.Waiting || exchange.state === State.Ready) exchange.state = State.Done;
    }
    if (this.#streaming) {
      this.destroy();
      return;
    }
    this.#queue = [];
    this.#parsing = undefined;
    this.#inHead = false;
    const exchange: Exchange = {
      method: 'GET',
      minor: 1,
      bytes: EMPTY,
      at: 0,
      spans: [],
      shared: false,
      keepAlive: false,
      state: State.Ready,
      complete: true,
      body: undefined,
      discard: true,
      status: 0,
      block: undefined,
      payload: undefined,
      raw,
    };
    this.#queue.push(exchange);
    this.#pump();
  }

  // ---- body flow control (RequestBody) ------------------------------------------------------------

  pauseBody(): void {
    this.#pauseReading(true);
  }

  resumeBody(): void {
    this.#pauseReading(false);
  }

  #pauseReading(paused: boolean): void {
    const before = this.#readPaused > 0;
    this.#readPaused += paused ? 1 : -1;
    if (this.#readPaused < 0) this.#readPaused = 0;
    const after = this.#readPaused > 0;
    if (before !== after && !this.#finished) this.#owner.transport.pause(this, after);
  }

  // ---- timeouts, draining, teardown ------------------------------------------------------------------

  /** Nothing in progress: no request being received, none waiting for its response. */
  get idle(): boolean {
    return this.#queue.length === 0 && !this.#inHead && this.#parsing === undefined;
  }

  /** Called by the server's sweep: header, request, keep-alive, idle and linger timeouts. */
  sweep(now: number): void {
    if (this.#finished) return;
    const settings = this.listener.settings;
    if (this.#ending) {
      if (now - this.#endedAt > LINGER_MS) this.destroy();
      return;
    }
    if (settings.idleTimeoutMs > 0 && now - this.#lastActivity > settings.idleTimeoutMs) {
      this.#owner.count(COUNTER_IDLE_TIMEOUTS);
      this.destroy();
      return;
    }
    if (this.#requestStartedAt >= 0 && !this.#broken) {
      const elapsed = now - this.#requestStartedAt;
      if (
        (!this.#headersDone && settings.headersTimeout > 0 && elapsed > settings.headersTimeout) ||
        (settings.requestTimeout > 0 && elapsed > settings.requestTimeout)
      ) {
        this.#fail(REQUEST_TIMEOUT, COUNTER_HTTP_TIMEOUTS);
        return;
      }
    }
    if (this.idle && settings.keepAliveTimeout > 0 && now - this.#idleSince > settings.keepAliveTimeout)
      this.destroy();
  }

  /**
   * engine.close(), or a reload retiring the shard: end after the response in progress (with `connection:
   * close`); an idle connection ends once it has been quiet for DRAIN_QUIET_MS (see served-listener.ts for
   * why not at once), by `closeIfQuiet` from the server's drain poll.
   */
  drain(): void {
    // Not `#closing`: that would drop a request that arrives now; it is answered, with `connection: close`
    // (the owner is draining), and the connection ends after it.
    this.#draining = true;
    this.closeIfQuiet(this.#owner.now);
  }

  /**
   * Draining: ends the connection once it has had nothing in progress and read nothing for DRAIN_QUIET_MS,
   * as seen by these calls (the first one that finds it idle starts the clock, any input restarts it).
   */
  closeIfQuiet(now: number): void {
    if (!this.#draining || this.#finished || this.#ending) return;
    if (!this.idle) {
      this.#quietSince = -1;
      return;
    }
    if (this.#quietSince < 0 || this.#readsAtQuiet !== this.#reads) {
      this.#quietSince = now;
      this.#readsAtQuiet = this.#reads;
      return;
    }
    if (now - this.#quietSince < DRAIN_QUIET_MS) return;
    this.#closing = true;
    this.#endIfDone();
  }

  /** `drain()` was called: end once the response in progress is out, or once quiet. */
  #draining = false;

  /** closeIfQuiet's clock: when it first found the connection idle (-1: not yet), and the reads then. */
  #quietSince = -1;
  #readsAtQuiet = 0;
  /** Input events so far (closeIfQuiet tells a quiet connection from one whose requests keep coming). */
  #reads = 0;

  /** Closes at once, dropping unsent output. */
  destroy(): void {
    if (this.#finished) return;
    this.#owner.transport.destroy(this);
    this.#finish();
  }

  #finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#owner.llhttp.free(this.#parser);
    for (const exchange of this.#queue) exchange.body?.abort();
    this.#queue = [];
    this.drained();
    this.#owner.closed(this);
  }
}

const EMPTY = Buffer.alloc(0);
