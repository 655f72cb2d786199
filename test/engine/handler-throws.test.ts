import { once } from 'node:events';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { createEngine, type HandlerError } from '../../src/index.js';
import { fixtureHandler, portOf, until } from '../helpers/engine.js';
import { closed, useTeardown } from '../helpers/sockets.js';

const defer = useTeardown();

async function echoes(socket: net.Socket, text: string): Promise<boolean> {
  socket.write(text);
  const [data] = (await once(socket, 'data')) as [Buffer];
  return data.toString() === text;
}

describe('a handler that throws', () => {
  it('costs only its own TCP connection: it is destroyed and reported, the shard serves on', async () => {
    const engine = createEngine({ shards: 1 }).tcp({
      port: 0,
      handler: fixtureHandler('throws-sometimes.ts'),
    });
    const errors: HandlerError[] = [];
    engine.on('handler-error', (error) => errors.push(error));
    await engine.start();
    defer(() => engine.close({ timeoutMs: 200 }));
    const port = portOf(engine);
    const open = async () => {
      const socket = net.connect(port, '127.0.0.1');
      await once(socket, 'connect');
      return socket;
    };
    const first = await open();
    expect(await echoes(first, 'one')).toBe(true);
    for (const expected of ['sync failure on connection 2', 'async failure on connection 3']) {
      const failing = await open();
      await closed(failing);
      while (errors.length === 0 || !errors.at(-1)!.message.includes(expected)) {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    }
    expect(await echoes(first, 'still here')).toBe(true);
    const fourth = await open();
    expect(await echoes(fourth, 'four')).toBe(true);
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatchObject({ code: 'ERR_HANDLER', shardId: 0, listenerId: 0 });
    expect(engine.stats().total.handlerErrors).toBe(2);
    first.destroy();
    fourth.destroy();
  });

  it('answers 500 for a throwing or rejecting HTTP handler and keeps serving', async () => {
    const engine = createEngine({ shards: 1 }).http({ port: 0, handler: fixtureHandler('throws-http.ts') });
    const errors: HandlerError[] = [];
    engine.on('handler-error', (error) => errors.push(error));
    await engine.start();
    defer(() => engine.close({ timeoutMs: 200 }));
    const base = `http://127.0.0.1:${portOf(engine)}`;
    expect((await fetch(`${base}/throw`)).status).toBe(500);
    expect((await fetch(`${base}/reject`)).status).toBe(500);
    const ok = await fetch(`${base}/fine`);
    expect([ok.status, await ok.text()]).toEqual([200, 'ok\n']);
    // The report travels by message, the 500 by TCP: either may reach this thread first.
    await until(() => errors.length >= 2, 5000);
    expect(errors.map((e) => e.message)).toEqual([
      expect.stringContaining('thrown by the handler'),
      expect.stringContaining('rejected by the handler'),
    ]);
  });
});
