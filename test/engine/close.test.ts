import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { createEngine } from '../../src/index.js';
import { fixtureHandler, portOf, shardOf } from '../helpers/engine.js';
import { closed, useTeardown } from '../helpers/sockets.js';

const defer = useTeardown();

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
    // Wait until every request has reached a handler, then close while they are all in progress.
    while (engine.stats().total.requests < 40) await new Promise((resolve) => setTimeout(resolve, 5));
    const closing = engine.close({ timeoutMs: 5_000 });
    const refused = new Promise<string>((resolve) => {
      setTimeout(() => {
        net
          .connect(port, '127.0.0.1')
          .once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? ''));
      }, 20);
    });
    expect(await Promise.all(inFlight)).toEqual(Array.from({ length: 40 }, () => [200, 'done\n']));
    await closing;
    expect(await refused).toBe('ECONNREFUSED');
    expect(exits.sort()).toEqual([0, 1]);
    const stats = engine.stats();
    expect(stats.shards.every((shard) => !shard.alive)).toBe(true);
    expect(stats.total.connections).toBe(0);
  });

  it('destroys what is still open at the timeout, idle TCP and unanswered HTTP alike', async () => {
    const engine = createEngine({ shards: 2 })
      .tcp({ port: 0, handler: fixtureHandler('shard-id.ts') })
      .http({ port: 0, handler: fixtureHandler('never-answers-http.ts') });
    await engine.start();
    const idle = await shardOf(portOf(engine, 0));
    const idleClosed = closed(idle.socket);
    const hanging = fetch(`http://127.0.0.1:${portOf(engine, 1)}/`).catch((error: Error) => error);
    while (engine.stats().total.requests < 1) await new Promise((resolve) => setTimeout(resolve, 5));
    const started = performance.now();
    await engine.close({ timeoutMs: 200 });
    expect(performance.now() - started).toBeLessThan(3_000);
    await idleClosed;
    expect(await hanging).toBeInstanceOf(Error);
  });

  it('can be called twice and before start', async () => {
    const unstarted = createEngine({ shards: 1 });
    await unstarted.close();
    const engine = createEngine({ shards: 1 }).tcp({ port: 0, handler: fixtureHandler('echo.ts') });
    await engine.start();
    defer(() => engine.close());
    await Promise.all([engine.close({ timeoutMs: 100 }), engine.close({ timeoutMs: 100 })]);
  });
});
