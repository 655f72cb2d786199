import { once } from 'node:events';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { createEngine, EngineStateError } from '../../src/index.js';
import { fixtureHandler, portOf, shardOf } from '../helpers/engine.js';
import { shareGate } from '../helpers/gate.js';
import { closed, useTeardown } from '../helpers/sockets.js';

const defer = useTeardown();

/** Resolves with the error code of a connection attempt to `port` (ECONNREFUSED once nothing listens). */
function connectError(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? ''));
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
  });
}

describe('engine.close()', () => {
  it('lets in-flight requests finish, refuses new connections, and leaves no shard running', async () => {
    const engine = createEngine({ shards: 2 }).http({ port: 0, handler: fixtureHandler('slow-http.ts') });
    const exits: number[] = [];
    engine.on('shard-exit', (shardId) => exits.push(shardId));
    await engine.start();
    const port = portOf(engine);
    const inFlight = Array.from({ length: 40 }, (_, i) =>
      fetch(`http://127.0.0.1:${port}/?ms=${100 + i * 5}`).then(async (r) => [r.status, await r.text()]),
    );
    // Every request has reached a handler: close while they are all in progress.
    await expect.poll(() => engine.stats().total.requests, { timeout: 5_000 }).toBe(40);
    const closing = engine.close({ timeoutMs: 5_000 });
    const refused = connectError(port);
    expect(await Promise.all(inFlight)).toEqual(Array.from({ length: 40 }, () => [200, 'done\n']));
    await closing;
    expect(await refused).toBe('ECONNREFUSED');
    expect(exits.sort()).toEqual([0, 1]);
    const stats = engine.stats();
    expect(stats.shards.every((shard) => !shard.alive)).toBe(true);
    expect(stats.total.connections).toBe(0);
  });

  it('closes an idle keep-alive connection at once, while a request in flight finishes', async () => {
    const { gate, name, unshare } = shareGate();
    defer(unshare);
    // keepAliveTimeout far beyond the test: only close() can end the idle connection.
    const engine = createEngine({ shards: 1 }).http({
      port: 0,
      handler: fixtureHandler('slow-http.ts'),
      keepAliveTimeout: 60_000,
    });
    await engine.start();
    defer(() => engine.close({ timeoutMs: 200 }));
    const port = portOf(engine);
    const idle = net.connect(port, '127.0.0.1');
    const idleClosed = closed(idle);
    idle.write('GET /?ms=0 HTTP/1.1\r\nHost: x\r\n\r\n');
    const [answer] = (await once(idle, 'data')) as [Buffer];
    expect(answer.toString()).toMatch(/^HTTP\/1.1 200 .*\r\nConnection: keep-alive\r\n/s);
    const inFlight = fetch(`http://127.0.0.1:${port}/?gate=${name}`, { headers: { connection: 'close' } });
    await gate.reached();
    const closing = engine.close({ timeoutMs: 10_000 });
    // Had close() waited for the timeout before ending the idle connection, it would have destroyed the
    // request in flight with it: the request finishes only once the idle connection is gone.
    await idleClosed;
    gate.open();
    const response = await inFlight;
    expect([response.status, await response.text()]).toEqual([200, 'done\n']);
    await closing;
  });

  it('destroys what is still open at the timeout, idle TCP and unanswered HTTP alike', async () => {
    const engine = createEngine({ shards: 2 })
      .tcp({ port: 0, handler: fixtureHandler('shard-id.ts') })
      .http({ port: 0, handler: fixtureHandler('never-answers-http.ts') });
    await engine.start();
    const idle = await shardOf(portOf(engine, 0));
    const idleClosed = closed(idle.socket);
    const hanging = fetch(`http://127.0.0.1:${portOf(engine, 1)}/`).catch((error: Error) => error);
    await expect.poll(() => engine.stats().total.requests, { timeout: 5_000 }).toBe(1);
    const started = performance.now();
    await engine.close({ timeoutMs: 200 });
    expect(performance.now() - started).toBeLessThan(3_000);
    await idleClosed;
    expect(await hanging).toBeInstanceOf(Error);
  });

  it('can be called twice and before start: one shutdown, one close event', async () => {
    const unstarted = createEngine({ shards: 1 });
    await unstarted.close();
    await expect(unstarted.start()).rejects.toBeInstanceOf(EngineStateError);
    const engine = createEngine({ shards: 1 }).tcp({ port: 0, handler: fixtureHandler('echo.ts') });
    const events: string[] = [];
    engine.on('shard-exit', (shardId) => events.push(`exit ${shardId}`));
    engine.on('close', () => events.push('close'));
    await engine.start();
    defer(() => engine.close());
    const port = portOf(engine);
    const first = engine.close({ timeoutMs: 100 });
    const second = engine.close({ timeoutMs: 100 });
    expect(second).toBe(first);
    await Promise.all([first, second]);
    await engine.close();
    expect(events).toEqual(['exit 0', 'close']);
    expect(await connectError(port)).toBe('ECONNREFUSED');
  });
});
