/**
 * HTTP/1.1 conformance, run against both HTTP paths with the same expectations: engine.http's node:http
 * server (`api: 'node'`) and the fast path (`api: 'fast'`). Each behaviour the fast path promises is one
 * test here; node:http is the reference it must match (status, connection handling, counters).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../../../src/index.js';
import { fixtureHandler, portOf, until } from '../../helpers/engine.js';
import { header, WireClient, type WireResponse } from '../../helpers/http-responses.js';
import { below, mulberry32, prng } from '../../helpers/prng.js';
import { useTeardown } from '../../helpers/sockets.js';

useTeardown();

const MAIN = 0;
const TIMEOUTS = 1;
const LIMITED = 2;
const MAX_HEADER_SIZE = 2048;

/** Every request-smuggling shape of the issue: each must get a 400, a close, and nothing served after it. */
const SMUGGLED = 'GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n';
const SMUGGLING: readonly (readonly [string, string])[] = [
  [
    'Transfer-Encoding before Content-Length',
    'POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n',
  ],
  [
    'Content-Length before Transfer-Encoding',
    'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
  ],
  [
    'two Content-Lengths',
    'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde',
  ],
  ['Content-Length: 5, 5', 'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 5\r\n\r\nabcde'],
  ['obs-fold', 'GET / HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n b\r\n\r\n'],
  [
    'obs-fold in Transfer-Encoding',
    'POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\n chunked\r\n\r\n0\r\n\r\n',
  ],
  [
    'Transfer-Encoding: chunked, identity',
    'POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n',
  ],
  [
    'Transfer-Encoding: xchunked',
    'POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n',
  ],
  ['a space before the colon', 'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length : 4\r\n\r\nabcd'],
  ['bare LF line ends', 'GET / HTTP/1.1\nHost: x\n\n'],
  ['a bare LF in a header', 'GET / HTTP/1.1\r\nHost: x\nX-A: b\r\n\r\n'],
  [
    'LF in a chunk extension',
    'POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n4;a=b\nxyz\r\nabcd\r\n0\r\n\r\n',
  ],
  ['a negative Content-Length', 'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n'],
  [
    'a chunk size over 64 bits',
    'POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\n',
  ],
  ['a space in the request target', 'GET /a b HTTP/1.1\r\nHost: x\r\n\r\n'],
];

/** Valid requests that random truncation cuts short. */
const WHOLE_REQUESTS = [
  'GET /whole?q=1 HTTP/1.1\r\nHost: x\r\nUser-Agent: t\r\n\r\n',
  'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello world',
  'POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n',
];

describe.each([
  ['node', 'conformance-node.ts'],
  ['fast', 'conformance-fast.ts'],
] as const)('HTTP/1.1 conformance, api %s', (api, fixture) => {
  let engine: Engine;
  const handlerErrors: Error[] = [];

  beforeAll(async () => {
    const handler = fixtureHandler(fixture);
    engine = createEngine({ shards: 2, restart: { spare: false } })
      .http({ port: 0, api, handler, maxHeaderSize: MAX_HEADER_SIZE })
      .http({
        port: 0,
        api,
        handler,
        headersTimeout: 300,
        requestTimeout: 600,
        keepAliveTimeout: 300,
        connectionsCheckingInterval: 50,
      })
      .http({ port: 0, api, handler, maxRequestsPerSocket: 2 });
    engine.on('handler-error', (error) => handlerErrors.push(error));
    await engine.start();
    // One exchange on each listener first, so that nothing the first connections set up in passing
    // (lazily, on Node 24+) is still closing during the first test's fd count.
    for (const listener of [MAIN, TIMEOUTS, LIMITED]) {
      const c = await WireClient.connect(portOf(engine, listener));
      c.write('GET /warm-up HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      await c.untilEnd();
      await c.close();
    }
    await until(() => engine.stats().total.connections === 0, 5_000);
  });

  afterAll(() => engine.close({ timeoutMs: 1000 }));

  const opened: WireClient[] = [];

  // Before the fd check (useTeardown's, which runs after this): every connection of the test closed on
  // both ends. The server side closes a moment after the client (on its own loop), and the engine one
  // started for the whole file would otherwise carry a closing socket into the next test's count.
  afterEach(async () => {
    for (const c of opened.splice(0)) await c.close();
    await expect.poll(() => engine.stats().total.connections).toBe(0);
  });

  async function client(listener = MAIN): Promise<WireClient> {
    const c = await WireClient.connect(portOf(engine, listener));
    opened.push(c);
    return c;
  }

  function bodies(responses: readonly WireResponse[]): string[] {
    return responses.map((response) => response.body.toString('latin1'));
  }

  it('keeps a connection alive across requests, with a Date header', async () => {
    const c = await client();
    c.write('GET /a?x=1 HTTP/1.1\r\nHost: x\r\n\r\n');
    const [first] = await c.responses(1);
    expect(first!.status).toBe(200);
    expect(first!.body.toString()).toBe('GET /a?x=1\n');
    expect(Date.parse(header(first!, 'date')!)).not.toBeNaN();
    expect(header(first!, 'connection')).not.toBe('close');
    c.write('GET /b HTTP/1.1\r\nHost: x\r\n\r\n');
    const responses = await c.responses(2);
    expect(bodies(responses)).toEqual(['GET /a?x=1\n', 'GET /b\n']);
    expect(c.ended).toBe(false);
  });

  it('closes after a request with Connection: close, serving nothing pipelined after it', async () => {
    const c = await client();
    c.write('GET /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /after HTTP/1.1\r\nHost: x\r\n\r\n');
    const responses = await c.untilEnd();
    // llhttp refuses data after a closing request (HPE_CLOSED_CONNECTION), so node:http answers it 400.
    expect(responses.map((r) => r.status)).toEqual([200, 400]);
    expect(bodies(responses)[0]).toBe('GET /a\n');
    expect(header(responses[0]!, 'connection')).toBe('close');
  });

  it('closes after a response with connection: close', async () => {
    const c = await client();
    c.write('GET /close HTTP/1.1\r\nHost: x\r\n\r\n');
    const responses = await c.untilEnd();
    expect(bodies(responses)).toEqual(['closing\n']);
  });

  it('closes HTTP/1.0 connections unless asked to keep them alive', async () => {
    const closing = await client();
    closing.write('GET /old HTTP/1.0\r\n\r\n');
    expect(bodies(await closing.untilEnd())).toEqual(['GET /old\n']);
    const kept = await client();
    kept.write('GET /one HTTP/1.0\r\nConnection: keep-alive\r\n\r\n');
    const [first] = await kept.responses(1);
    expect(header(first!, 'connection')?.toLowerCase()).toBe('keep-alive');
    kept.write('GET /two HTTP/1.0\r\n\r\n');
    expect(bodies(await kept.untilEnd())).toEqual(['GET /one\n', 'GET /two\n']);
  });

  it('answers pipelined requests in order, however their handlers finish', async () => {
    const before = engine.stats().total.requests;
    const c = await client();
    c.write(
      'GET /slow?ms=80 HTTP/1.1\r\nHost: x\r\n\r\n' +
        'GET /slow?ms=1 HTTP/1.1\r\nHost: x\r\n\r\n' +
        'GET /now HTTP/1.1\r\nHost: x\r\n\r\n',
    );
    expect(bodies(await c.responses(3))).toEqual(['slow 80\n', 'slow 1\n', 'GET /now\n']);
    await expect.poll(() => engine.stats().total.requests).toBe(before + 3);
  });

  it('reads Content-Length and chunked request bodies (with extensions and trailers)', async () => {
    const c = await client();
    c.write(WHOLE_REQUESTS[1]!);
    c.write(WHOLE_REQUESTS[2]!);
    c.write('POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n');
    expect(bodies(await c.responses(3))).toEqual(['hello world', 'hello world', '']);
  });

  it('answers Expect: 100-continue before the body is sent', async () => {
    const c = await client();
    c.write('POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n');
    await expect
      .poll(() => c.bytes.toString('latin1'), { timeout: 5_000 })
      .toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\n/);
    c.write('hello');
    const responses = await c.responses(1);
    expect(responses.map((r) => r.status)).toEqual([100, 200]);
    expect(responses[1]!.body.toString()).toBe('hello');
  });

  it('answers an expectation it cannot meet with 417', async () => {
    const c = await client();
    c.write('POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: the-impossible\r\n\r\nhello');
    const [response] = await c.responses(1);
    expect(response!.status).toBe(417);
  });

  it('sends no body for HEAD, and the connection goes on', async () => {
    const c = await client();
    c.headRequests.add(0);
    c.write('HEAD /x HTTP/1.1\r\nHost: x\r\n\r\nGET /y HTTP/1.1\r\nHost: x\r\n\r\n');
    const responses = await c.responses(2);
    expect(responses[0]!.status).toBe(200);
    expect(responses[0]!.body.length).toBe(0);
    expect(responses[1]!.body.toString()).toBe('GET /y\n');
  });

  it('streams a body in chunked coding, and to the close for HTTP/1.0', async () => {
    const c = await client();
    c.write('GET /stream HTTP/1.1\r\nHost: x\r\n\r\n');
    const [chunked] = await c.responses(1);
    expect(chunked!.chunked).toBe(true);
    expect(chunked!.body.toString()).toBe('abc');
    const old = await client();
    old.write('GET /stream HTTP/1.0\r\n\r\n');
    const [whole] = await old.untilEnd();
    expect(whole!.chunked).toBe(false);
    expect(whole!.body.toString()).toBe('abc');
  });

  it('joins repeated request headers with a comma', async () => {
    const c = await client();
    c.write('GET /header?name=x-a HTTP/1.1\r\nHost: x\r\nX-A: 1\r\nx-a: 2\r\n\r\n');
    const [response] = await c.responses(1);
    expect(response!.body.toString()).toBe('1, 2\n');
  });

  it('sends a large response to a client that reads slowly, byte for byte', async () => {
    const c = await client();
    c.socket.pause();
    c.write('GET /big?bytes=4000000 HTTP/1.1\r\nHost: x\r\n\r\nGET /after HTTP/1.1\r\nHost: x\r\n\r\n');
    await new Promise((resolve) => setTimeout(resolve, 100));
    c.socket.resume();
    const responses = await c.responses(2);
    expect(responses[0]!.body.length).toBe(4_000_000);
    expect(responses[0]!.body.every((byte) => byte === 0x78)).toBe(true);
    expect(responses[1]!.body.toString()).toBe('GET /after\n');
  });

  it('answers 431 and closes when the head passes maxHeaderSize', async () => {
    const before = engine.stats().total.httpBadRequests;
    const c = await client();
    c.write(`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(MAX_HEADER_SIZE + 10)}\r\n\r\n`);
    const responses = await c.untilEnd();
    expect(responses.map((r) => r.status)).toEqual([431]);
    await expect.poll(() => engine.stats().total.httpBadRequests).toBe(before + 1);
  });

  it('answers 408 and closes when the head is too slow (headersTimeout)', async () => {
    const before = engine.stats().total.httpTimeouts;
    const c = await client(TIMEOUTS);
    c.write('GET / HTTP/1.1\r\nHost: x\r\n');
    const responses = await c.untilEnd();
    expect(responses.map((r) => r.status)).toEqual([408]);
    await expect.poll(() => engine.stats().total.httpTimeouts).toBe(before + 1);
  });

  it('answers 408 and closes when the body is too slow (requestTimeout)', async () => {
    const c = await client(TIMEOUTS);
    c.write('POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab');
    const responses = await c.untilEnd();
    expect(responses.map((r) => r.status)).toEqual([408]);
  });

  it('closes a keep-alive connection idle past keepAliveTimeout', async () => {
    const c = await client(TIMEOUTS);
    c.write('GET /a HTTP/1.1\r\nHost: x\r\n\r\n');
    const responses = await c.untilEnd();
    expect(bodies(responses)).toEqual(['GET /a\n']);
  });

  it('closes after maxRequestsPerSocket requests', async () => {
    const c = await client(LIMITED);
    c.write('GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n');
    const responses = await c.untilEnd();
    expect(bodies(responses.filter((r) => r.status === 200))).toEqual(['GET /1\n', 'GET /2\n']);
    expect(header(responses[1]!, 'connection')).toBe('close');
  });

  it.each(['/throw', '/reject'])('answers 500 and closes when the handler fails (%s)', async (path) => {
    const before = handlerErrors.length;
    const c = await client();
    c.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
    const responses = await c.untilEnd();
    expect(responses.map((r) => r.status)).toEqual([500]);
    await expect.poll(() => handlerErrors.length).toBe(before + 1);
  });

  it.each(SMUGGLING)('answers %s with 400 and a close, serving nothing after it', async (_shape, bytes) => {
    const before = engine.stats().total.httpBadRequests;
    const c = await client();
    c.write(bytes + SMUGGLED);
    const responses = await c.untilEnd();
    expect(responses.map((r) => r.status)).toEqual([400]);
    await expect.poll(() => engine.stats().total.httpBadRequests).toBe(before + 1);
  });

  it('answers HTTP/1.1 without Host with 400 and a close, as node:http does (requireHostHeader)', async () => {
    const c = await client();
    c.write(`GET / HTTP/1.1\r\nX: y\r\n\r\n${SMUGGLED}`);
    const responses = await c.untilEnd();
    expect(responses.map((r) => r.status)).toEqual([400]);
  });

  it('parses pipelined requests sent one byte at a time', async () => {
    const c = await client();
    await c.writeSlowly(WHOLE_REQUESTS[0]! + WHOLE_REQUESTS[2]! + WHOLE_REQUESTS[1]!);
    expect(bodies(await c.responses(3))).toEqual(['GET /whole?q=1\n', 'hello world', 'hello world']);
  });

  it('answers seeded random bytes with 400 and a close', async () => {
    for (let seed = 1; seed <= 24; seed++) {
      const random = mulberry32(seed);
      const bytes = Buffer.alloc(1 + (random() % 300));
      for (let i = 0; i < bytes.length; i++) bytes[i] = random() & 0xff;
      // A first byte of CR or LF would be skipped as an empty line: keep the garbage garbage.
      if (bytes[0] === 0x0d || bytes[0] === 0x0a) bytes[0] = 0x00;
      const c = await client();
      c.write(bytes);
      c.socket.end();
      const responses = await c.untilEnd();
      expect(
        responses.map((r) => r.status),
        `seed ${seed}`,
      ).toEqual([400]);
    }
  });

  it('closes, unanswered, requests truncated at seeded random points (a socket error each)', async () => {
    const random = prng(7);
    const rounds = 24;
    const before = engine.stats().total.socketErrors;
    for (let round = 0; round < rounds; round++) {
      const whole = WHOLE_REQUESTS[round % WHOLE_REQUESTS.length]!;
      const cut = 1 + below(random, whole.length - 1);
      const c = await client();
      c.write(whole.slice(0, cut));
      c.socket.end();
      const responses = await c.untilEnd();
      expect(
        responses.map((r) => r.status),
        `${JSON.stringify(whole.slice(0, cut))}`,
      ).toEqual([]);
    }
    await expect.poll(() => engine.stats().total.socketErrors).toBe(before + rounds);
    // Cut and reset: nothing to answer, and the server serves on.
    for (let round = 0; round < 8; round++) {
      const whole = WHOLE_REQUESTS[round % WHOLE_REQUESTS.length]!;
      const c = await client();
      c.write(whole.slice(0, 1 + below(random, whole.length - 1)));
      c.socket.resetAndDestroy();
    }
    const c = await client();
    c.write(WHOLE_REQUESTS[0]!);
    expect(bodies(await c.responses(1))).toEqual(['GET /whole?q=1\n']);
  });
});
