import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { createEngine, type Health } from '../../src/index.js';
import { fixtureHandler, portOf } from '../helpers/engine.js';
import { useTeardown } from '../helpers/sockets.js';

const defer = useTeardown();

async function check(port: number, path = '/health'): Promise<[number, Health]> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`);
  return [response.status, (await response.json()) as Health];
}

describe('health endpoint', () => {
  it('says ready while serving, and draining from the moment close() starts, while it still accepts', async () => {
    const engine = createEngine({ shards: 2, health: { port: 0, drainDelayMs: 1_000 } }).http({
      port: 0,
      handler: fixtureHandler('hello-http.ts'),
    });
    expect(engine.health()).toMatchObject({ status: 'down', reason: 'starting' });
    await engine.start();
    defer(() => engine.close({ timeoutMs: 200 }));
    const healthPort = engine.healthPort()!;
    const port = portOf(engine);
    expect(await check(healthPort)).toEqual([
      200,
      { status: 'ready', reason: 'serving', shardsServing: 2, shards: 2 },
    ]);
    const closing = engine.close({ timeoutMs: 1_000 });
    // At once, before anything is refused: the balancer reads draining...
    expect(engine.health()).toMatchObject({ status: 'draining', reason: 'closing' });
    expect(await check(healthPort)).toEqual([
      503,
      { status: 'draining', reason: 'closing', shardsServing: 2, shards: 2 },
    ]);
    // ...while a client that has not heard yet is still served, on a new connection.
    const response = await fetch(`http://127.0.0.1:${port}/late`, { headers: { connection: 'close' } });
    expect(await response.text()).toMatch(/^hello from shard \d \/late\n$/);
    await closing;
    expect(engine.health()).toMatchObject({ status: 'down', reason: 'closed' });
    const refused = await new Promise<string>((resolve) =>
      net
        .connect(port, '127.0.0.1')
        .once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? '')),
    );
    expect(refused).toBe('ECONNREFUSED');
  });

  it('answers on the metrics port when it has no port of its own, at its path', async () => {
    const engine = createEngine({ shards: 1, metrics: { port: 0 }, health: { path: '/ready' } }).tcp({
      port: 0,
      handler: fixtureHandler('echo.ts'),
    });
    await engine.start();
    defer(() => engine.close({ timeoutMs: 200 }));
    expect(engine.healthPort()).toBeUndefined();
    const [status, health] = await check(engine.metricsPort()!, '/ready');
    expect([status, health.status]).toEqual([200, 'ready']);
    expect((await fetch(`http://127.0.0.1:${engine.metricsPort()}/health`)).status).toBe(404);
  });

  it('says down (503) while no shard serves, and down once the engine has failed', async () => {
    // One shard; its second death in the window waits a back-off before the restart: no shard serves then.
    const engine = createEngine({
      shards: 1,
      restart: { maxRestarts: 2, backoffMs: 3_000, spare: false },
      health: { port: 0 },
    }).http({ port: 0, handler: fixtureHandler('mortal-http.ts') });
    engine.on('error', () => {}); // the deaths are reported: expected here
    const failed = new Promise((resolve) => engine.once('failed', resolve));
    let online = 0;
    engine.on('shard-online', () => online++);
    await engine.start();
    defer(() => engine.close({ timeoutMs: 200 }));
    const kill = () => fetch(`http://127.0.0.1:${portOf(engine)}/exit`, { headers: { connection: 'close' } });
    await kill();
    await expect.poll(() => online, { timeout: 5_000 }).toBe(2);
    await kill();
    await expect
      .poll(async () => (await check(engine.healthPort()!))[1], { timeout: 2_000 })
      .toEqual({ status: 'down', reason: 'no shard serving', shardsServing: 0, shards: 1 });
    expect((await check(engine.healthPort()!))[0]).toBe(503);
    // Back after the back-off; a third death is past the budget: the engine fails and closes its ports.
    await expect.poll(() => online, { timeout: 6_000 }).toBe(3);
    await kill();
    await failed;
    expect(engine.health()).toMatchObject({ status: 'down', reason: 'failed' });
  });

  it('refuses options it cannot serve, naming them', () => {
    expect(() => createEngine({ health: {} })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_OPTION', option: 'health.port' }),
    );
    expect(() => createEngine({ health: { port: 0, path: 'health' } })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_OPTION', option: 'health.path' }),
    );
    expect(() => createEngine({ health: { port: 0, drainDelayMs: -1 } })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_OPTION', option: 'health.drainDelayMs' }),
    );
  });
});
