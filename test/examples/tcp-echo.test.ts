import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { start } from '../../examples/tcp-echo.js';
import { readAll, useTeardown } from '../helpers/sockets.js';

const defer = useTeardown();

describe('examples/tcp-echo', () => {
  it('echoes every byte, from several connections at once', async () => {
    const { engine, port, protocol } = await start({ port: 0, engine: { shards: 2 } });
    defer(() => engine.close({ timeoutMs: 500 }));
    expect(protocol).toBe('tcp');
    const payloads = Array.from({ length: 8 }, (_, i) => randomBytes(1000 + i * 50_000));
    const echoed = await Promise.all(
      payloads.map((payload) => {
        const socket = net.connect(port, '127.0.0.1');
        socket.end(payload);
        return readAll(socket);
      }),
    );
    expect(echoed.map((bytes, i) => bytes.equals(payloads[i]!))).toEqual(payloads.map(() => true));
    const { total, shards } = engine.stats();
    expect(total.adopted).toBe(payloads.length);
    expect(total.handlerErrors).toBe(0);
    expect(shards.every((shard) => shard.adopted > 0)).toBe(true);
  });

  it('ends open connections gently when the engine closes (the drain hook)', async () => {
    const { engine, port } = await start({ port: 0, engine: { shards: 2 } });
    defer(() => engine.close({ timeoutMs: 500 }));
    const socket = net.connect(port, '127.0.0.1');
    defer(() => socket.destroy());
    socket.write('still here?');
    await once(socket, 'data');
    const ended = once(socket, 'end');
    const closed = engine.close({ timeoutMs: 5_000 });
    // A FIN from the handler's drain() rather than a reset at the close timeout.
    await ended;
    socket.end();
    await closed;
    expect(engine.stats().total.socketErrors).toBe(0);
  });
});
