import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { canTransferSockets } from '../../src/engine/socket-transfer.js';
import { createEngine, InvalidOptionError } from '../../src/index.js';
import { fixtureHandler, portOf } from '../helpers/engine.js';
import { closed, readAll, useTeardown } from '../helpers/sockets.js';

const defer = useTeardown();
const transferable = await canTransferSockets();
const why = transferable
  ? ''
  : ` (skipped: ${process.version} cannot move sockets by postMessage; Node 26 can)`;

describe("handoff: 'transfer' (Node moves the socket by postMessage)", () => {
  it(`is detected by trying it, not from the version (${process.version}: ${transferable})`, async () => {
    expect(await canTransferSockets()).toBe(transferable);
    const engine = createEngine({ shards: 1, handoff: 'transfer' }).tcp({
      port: 0,
      handler: fixtureHandler('echo.ts'),
    });
    if (transferable) {
      await engine.start();
      await engine.close({ timeoutMs: 200 });
    } else {
      await expect(engine.start()).rejects.toBeInstanceOf(InvalidOptionError);
    }
  });

  it("'auto' picks what this Node supports and serves either way", async () => {
    const engine = createEngine({ shards: 2, handoff: 'auto' }).tcp({
      port: 0,
      handler: fixtureHandler('echo.ts'),
    });
    await engine.start();
    defer(() => engine.close({ timeoutMs: 200 }));
    const socket = net.connect(portOf(engine), '127.0.0.1');
    socket.end('over auto');
    expect((await readAll(socket)).toString()).toBe('over auto');
  });

  it.skipIf(!transferable)(
    `returns every byte of 4 MiB written before the shard got the socket${why}`,
    async () => {
      const engine = createEngine({ shards: 2, handoff: 'transfer' }).tcp({
        port: 0,
        handler: fixtureHandler('echo.ts'),
        balance: 'round-robin',
      });
      await engine.start();
      defer(() => engine.close({ timeoutMs: 200 }));
      for (let i = 0; i < 4; i++) {
        const data = randomBytes(1 << 20);
        const socket = net.connect(portOf(engine), '127.0.0.1');
        socket.end(data);
        expect((await readAll(socket)).equals(data)).toBe(true);
        await closed(socket);
      }
      expect(engine.stats().shards.map((s) => s.adopted)).toEqual([2, 2]);
    },
  );
});
