import { once } from 'node:events';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { createEngine, type EngineOptions, type SockshardError } from '../../src/index.js';
import { fixtureHandler, portOf, until } from '../helpers/engine.js';
import { closed, useTeardown } from '../helpers/sockets.js';

const defer = useTeardown();

/**
 * A started one-shard engine serving the fixture handler `fixture`, closed in teardown; `errors` collects
 * its handler errors and, with `engineErrors`, its engine errors too.
 */
async function oneShard(
  kind: 'tcp' | 'http',
  fixture: string,
  { options = {}, engineErrors = false }: { options?: EngineOptions; engineErrors?: boolean } = {},
) {
  const engine = createEngine({ shards: 1, ...options })[kind]({ port: 0, handler: fixtureHandler(fixture) });
  const errors: SockshardError[] = [];
  engine.on('handler-error', (error) => errors.push(error));
  if (engineErrors) engine.on('error', (error) => errors.push(error));
  await engine.start();
  defer(() => engine.close({ timeoutMs: 200 }));
  return { engine, errors, port: portOf(engine) };
}

/** A connection to `port`, once connected; destroyed in teardown. */
async function open(port: number): Promise<net.Socket> {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => {});
  await once(socket, 'connect');
  defer(() => socket.destroy());
  return socket;
}

async function echoes(socket: net.Socket, text: string): Promise<boolean> {
  socket.write(text);
  const [data] = (await once(socket, 'data')) as [Buffer];
  return data.toString() === text;
}

describe('a handler that throws', () => {
  it('costs only its own TCP connection: it is destroyed and reported, the shard serves on', async () => {
    const { engine, errors, port } = await oneShard('tcp', 'throws-sometimes.ts');
    const first = await open(port);
    expect(await echoes(first, 'one')).toBe(true);
    for (const expected of ['sync failure on connection 2', 'async failure on connection 3']) {
      const failing = await open(port);
      await closed(failing);
      await expect.poll(() => errors.at(-1)?.message).toContain(expected);
    }
    expect(await echoes(first, 'still here')).toBe(true);
    const fourth = await open(port);
    expect(await echoes(fourth, 'four')).toBe(true);
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatchObject({ code: 'ERR_HANDLER', shardId: 0, listenerId: 0 });
    expect(engine.stats().total.handlerErrors).toBe(2);
  });

  it('answers 500 for a throwing or rejecting HTTP handler and keeps serving', async () => {
    const { errors, port } = await oneShard('http', 'throws-http.ts');
    const base = `http://127.0.0.1:${port}`;
    expect((await fetch(`${base}/throw`)).status).toBe(500);
    expect((await fetch(`${base}/reject`)).status).toBe(500);
    const ok = await fetch(`${base}/fine`);
    expect([ok.status, await ok.text()]).toEqual([200, 'ok\n']);
    // The report travels by message, the 500 by TCP: either may reach this thread first.
    await expect.poll(() => errors.length, { timeout: 5_000 }).toBe(2);
    expect(errors.map((e) => e.message)).toEqual([
      expect.stringContaining('thrown by the handler'),
      expect.stringContaining('rejected by the handler'),
    ]);
  });
});

describe('a handler that throws later, outside any call the shard made', () => {
  it.each([
    ['/throw-later', 'thrown in a timer'],
    ['/reject-later', 'rejected in a timer'],
  ])(
    '(%s) is reported with listenerId -1; the shard serves on, keeping its connections',
    async (path, message) => {
      const { engine, errors, port } = await oneShard('http', 'throws-http.ts', { engineErrors: true });
      // One keep-alive connection for every request: it must outlive the throw.
      const socket = await open(port);
      socket.setEncoding('utf8');
      const get = async (target: string) => {
        socket.write(`GET ${target} HTTP/1.1\r\nHost: x\r\n\r\n`);
        const [text] = (await once(socket, 'data')) as [string];
        return text.split('\r\n')[0];
      };
      expect(await get(path)).toBe('HTTP/1.1 200 OK');
      await until(() => errors.length === 1, 5_000);
      expect(errors[0]).toMatchObject({ code: 'ERR_HANDLER', shardId: 0, listenerId: -1 });
      expect(errors[0]!.message).toContain(message);
      expect(await get('/fine')).toBe('HTTP/1.1 200 OK');
      expect(errors).toHaveLength(1); // no shard died: no ERR_SHARD_EXIT
      expect(engine.stats().shards[0]).toMatchObject({
        alive: true,
        restarts: 0,
        handlerErrors: 1,
        adopted: 1,
      });
    },
  );

  it("costs one connection when the server's 'connection' listener throws; the shard serves on", async () => {
    const { engine, errors, port } = await oneShard('http', 'connection-throws-http.ts');
    const url = `http://127.0.0.1:${port}/`;
    const get = () =>
      fetch(url, { headers: { connection: 'close' } }).then(
        (r) => r.status,
        () => 'failed',
      );
    expect(await get()).toBe(200);
    expect(await get()).toBe('failed');
    expect(await get()).toBe(200);
    await until(() => errors.length === 1, 5_000);
    expect(errors[0]).toMatchObject({ code: 'ERR_HANDLER', listenerId: 0 });
    expect(engine.stats().shards[0]!.restarts).toBe(0);
  });
});

describe("a failure of the shard's own code", () => {
  it('ends the shard (the error is the cause of its ShardExitError) and it is restarted', async () => {
    const { engine, errors, port } = await oneShard('tcp', 'fault-injection-tcp.ts', {
      options: { restart: { spare: false } },
      engineErrors: true,
    });
    const arming = await open(port);
    expect(await echoes(arming, 'arm')).toBe(true);
    // Adopting the next connection fails inside the shard's pump.
    await closed(await open(port));
    await until(() => engine.stats().shards[0]!.restarts === 1 && engine.stats().shards[0]!.alive, 10_000);
    expect(errors.map((error) => error.code)).toEqual(['ERR_SHARD_EXIT']);
    expect((errors[0]!.cause as Error).message).toBe("injected fault in the shard's own code");
    expect(await echoes(await open(port), 'after the restart')).toBe(true);
  });
});
