import { describe, expect, it } from 'vitest';
import {
  createEngine,
  type Engine,
  type EngineOptions,
  type HandlerError,
  type HttpOptions,
} from '../../src/index.js';
import { fixtureHandler, portOf } from '../helpers/engine.js';
import { header, WireClient } from '../helpers/http-responses.js';
import { useTeardown } from '../helpers/sockets.js';

const defer = useTeardown();
const task = new URL('../fixtures/offload/task.ts', import.meta.url);

/** A started engine with one fast listener (closed in teardown), and the handler errors it reports. */
async function fastEngine(
  fixture: string,
  listener: Omit<HttpOptions, 'port' | 'handler' | 'api'> = {},
  engineOptions: EngineOptions = {},
): Promise<{ engine: Engine; errors: HandlerError[] }> {
  const engine = createEngine({ shards: 1, restart: { spare: false }, ...engineOptions }).http({
    port: 0,
    api: 'fast',
    handler: fixtureHandler(fixture),
    ...listener,
  });
  const errors: HandlerError[] = [];
  engine.on('handler-error', (error) => errors.push(error));
  await engine.start();
  defer(() => engine.close({ timeoutMs: 1000 }));
  return { engine, errors };
}

async function client(engine: Engine): Promise<WireClient> {
  const c = await WireClient.connect(portOf(engine));
  defer(() => c.close());
  return c;
}

/** One request on a new connection; resolves with the status, x-shard and body. */
async function get(engine: Engine, path: string): Promise<{ status: number; shard: string; body: string }> {
  const c = await client(engine);
  c.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
  const [response] = await c.responses(1);
  await c.close();
  return {
    status: response!.status,
    shard: header(response!, 'x-shard') ?? '',
    body: response!.body.toString(),
  };
}

describe("engine.http({ api: 'fast' })", () => {
  it("serves from every shard with balance 'kernel' (accepted natively in the shards)", async () => {
    const { engine } = await fastEngine('fast-context.ts', { balance: 'kernel' }, { shards: 2 });
    const shards = new Set<string>();
    for (let i = 0; i < 24 && shards.size < 2; i++) shards.add((await get(engine, '/')).shard);
    expect([...shards].sort()).toEqual(['0', '1']);
    expect(engine.stats().total.accepted).toBeGreaterThan(0);
    await expect.poll(() => engine.stats().total.connections).toBe(0);
  });

  it('counts every connection adopted and closed, and requests', async () => {
    const { engine } = await fastEngine('fast-context.ts', {}, { shards: 2 });
    for (let i = 0; i < 6; i++) await get(engine, '/');
    await expect.poll(() => engine.stats().total.closed).toBe(6);
    const { total } = engine.stats();
    expect([total.adopted, total.requests, total.connections]).toEqual([6, 6, 0]);
  });

  it('gives handlers context.offload and the ring mesh', async () => {
    const { engine } = await fastEngine(
      'fast-context.ts',
      { balance: 'round-robin' },
      { shards: 2, offload: { module: task, threads: 1 } },
    );
    expect(JSON.parse((await get(engine, '/offload?ms=5')).body)).toEqual({ burned: 5, spins: true });
    const from = await get(engine, '/mesh?to=1&text=hello-1');
    const to = from.shard === '1' ? '0' : '1';
    expect((await get(engine, `/mesh?to=${to}&text=over-the-mesh`)).body).toBe('sent');
    await expect
      .poll(async () => {
        const inbox = await get(engine, '/inbox');
        return inbox.shard === to ? JSON.parse(inbox.body).includes('over-the-mesh') : 'other shard';
      })
      .toBe(true);
  });

  it('answers 500 for a response that would split (CR LF in a header) and reports ERR_HTTP_INVALID_RESPONSE', async () => {
    const { engine, errors } = await fastEngine('fast-context.ts');
    const c = await client(engine);
    c.write('GET /bad-header HTTP/1.1\r\nHost: x\r\n\r\n');
    const responses = await c.untilEnd();
    expect(responses.map((r) => r.status)).toEqual([500]);
    expect(c.bytes.toString('latin1')).not.toContain('x-injected');
    await expect.poll(() => errors.map((error) => error.handlerCode)).toEqual(['ERR_HTTP_INVALID_RESPONSE']);
  });

  it('reports ERR_REQUEST_RELEASED when a synchronously answered request is read later', async () => {
    const { engine, errors } = await fastEngine('fast-read-later.ts');
    const c = await client(engine);
    c.write('GET /x HTTP/1.1\r\nHost: x\r\n\r\n');
    expect((await c.responses(1))[0]!.body.toString()).toBe('answered\n');
    await expect.poll(() => errors.map((error) => error.handlerCode)).toEqual(['ERR_REQUEST_RELEASED']);
  });

  it('finishes in-flight requests on close, ending idle keep-alive connections at once', async () => {
    const engine = createEngine({ shards: 1, restart: { spare: false } }).http({
      port: 0,
      api: 'fast',
      handler: fixtureHandler('fast-context.ts'),
    });
    await engine.start();
    const idle = await client(engine);
    idle.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await idle.responses(1);
    const busy = await client(engine);
    busy.write('GET /slow?ms=150 HTTP/1.1\r\nHost: x\r\n\r\n');
    await expect.poll(() => engine.stats().total.requests).toBe(2);
    const closing = engine.close({ timeoutMs: 5000 });
    const responses = await busy.untilEnd();
    expect(responses.map((r) => [r.status, r.body.toString(), header(r, 'connection')])).toEqual([
      [200, 'slow done', 'close'],
    ]);
    await idle.untilEnd();
    await closing;
  });

  it('streams a body to a client that reads slowly, waiting while the output is over its bound', async () => {
    const { engine } = await fastEngine('fast-context.ts');
    const c = await client(engine);
    c.socket.pause();
    const chunks = 400; // 25 MiB: more than the kernel's buffers, so the stream has to wait for the client
    c.write(`GET /stream?chunks=${chunks} HTTP/1.1\r\nHost: x\r\n\r\nGET /after HTTP/1.1\r\nHost: x\r\n\r\n`);
    // Both pipelined requests are parsed at once; the second waits for the stream (a stream that never
    // heard its connection drain would never finish, and this test would time out).
    await expect.poll(() => engine.stats().total.requests).toBe(2);
    c.socket.resume();
    const [streamed, after] = await c.responses(2);
    expect(streamed!.chunked).toBe(true);
    expect(streamed!.body.length).toBe(chunks * 64 * 1024);
    for (let i = 0; i < chunks; i++) expect(streamed!.body[i * 64 * 1024]).toBe(97 + (i % 26));
    expect(after!.body.toString()).toBe('0');
  });

  it('destroys a connection idle past idleTimeoutMs, and counts it', async () => {
    const { engine } = await fastEngine('fast-context.ts', { idleTimeoutMs: 100 });
    const c = await client(engine);
    c.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await c.responses(1);
    await c.untilEnd();
    await expect.poll(() => engine.stats().total.idleTimeouts).toBe(1);
  });

  it.each([
    ['a node:http handler under api fast', 'fast', 'hello-http.ts', /defineFastHttpHandler/],
    ['a fast handler under api node', 'node', 'fast-context.ts', /api: 'fast'/],
  ] as const)('fails start() with ERR_HANDLER_LOAD for %s', async (_case, api, fixture, message) => {
    const engine = createEngine({ shards: 1, restart: { spare: false } }).http({
      port: 0,
      api,
      handler: fixtureHandler(fixture),
    });
    await expect(engine.start()).rejects.toMatchObject({
      code: 'ERR_HANDLER_LOAD',
      message: expect.stringMatching(message),
    });
  });

  it('refuses an unknown api with ERR_INVALID_OPTION', () => {
    expect(() =>
      createEngine({ shards: 1 }).http({
        port: 0,
        api: 'turbo' as 'fast',
        handler: fixtureHandler('fast-context.ts'),
      }),
    ).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION', option: 'http.api' }));
  });

  it("loses only the dying shard's connections, and its replacement serves (no fd left behind)", async () => {
    const { engine } = await fastEngine('fast-mortal.ts', { balance: 'round-robin' }, { shards: 2 });
    const clients = await Promise.all([client(engine), client(engine)]);
    for (const c of clients) c.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    const shards = await Promise.all(clients.map(async (c) => (await c.responses(1))[0]!.body.toString()));
    expect(shards.sort()).toEqual(['shard 0\n', 'shard 1\n']);
    const [victim, survivor] = clients;
    victim!.write('GET /exit HTTP/1.1\r\nHost: x\r\n\r\n');
    await victim!.untilEnd();
    await expect.poll(() => engine.stats().total.restarts, { timeout: 10_000 }).toBe(1);
    survivor!.write('GET /again HTTP/1.1\r\nHost: x\r\n\r\n');
    expect((await survivor!.responses(2))[1]!.status).toBe(200);
    // The replacement joins the balancer once it is online: until then round-robin skips it.
    const seen = new Set<string>();
    await expect
      .poll(
        async () => {
          seen.add((await get(engine, '/')).body);
          return [...seen].sort();
        },
        { timeout: 10_000 },
      )
      .toEqual(['shard 0\n', 'shard 1\n']);
  });
});
