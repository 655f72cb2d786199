import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { createEngine } from '../../src/index.js';
import { fixtureHandler, portOf } from '../helpers/engine.js';
import { closed, readAll, useTeardown } from '../helpers/sockets.js';

const defer = useTeardown();

describe.each([
  ['IPv4', '127.0.0.1'],
  ['IPv6', '::1'],
])('TCP echo over %s', (_family, host) => {
  async function echoEngine() {
    const engine = createEngine({ shards: 2 }).tcp({ host, port: 0, handler: fixtureHandler('echo.ts') });
    await engine.start();
    defer(() => engine.close({ timeoutMs: 500 }));
    return engine;
  }

  it('echoes through a shard', async () => {
    const engine = await echoEngine();
    const socket = net.connect(portOf(engine), host);
    socket.end('hello, shard');
    expect((await readAll(socket)).toString()).toBe('hello, shard');
    expect(engine.stats().total.adopted).toBe(1);
  });

  it('returns every byte of 4 MiB written right after connect, before any shard adopted the socket', async () => {
    const engine = await echoEngine();
    const data = randomBytes(4 << 20);
    const socket = net.connect(portOf(engine), host);
    // Written before 'connect': the bytes sit in the kernel while the coordinator hands the fd over.
    socket.end(data);
    const echoed = await readAll(socket);
    expect(echoed.length).toBe(data.length);
    expect(echoed.equals(data)).toBe(true);
    await closed(socket);
  });
});
