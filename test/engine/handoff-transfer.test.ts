import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import net from 'node:net';
import { type TransferListItem, Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { canTransferSockets } from '../../src/engine/socket-transfer.js';
import { createEngine, InvalidOptionError } from '../../src/index.js';
import { fixtureHandler, portOf } from '../helpers/engine.js';
import { requirement, testWith } from '../helpers/requirements.js';
import { closed, destroy, readAll, useTeardown } from '../helpers/sockets.js';

const defer = useTeardown();

/**
 * The test's own answer, independent of the engine's probe (which only sees whether postMessage throws):
 * move an accepted socket to a worker and have the worker echo on it. True only if a byte comes back.
 */
async function socketReachesWorker(): Promise<boolean> {
  const server = net.createServer({ pauseOnConnect: true });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  const [accepted] = (await once(server, 'connection')) as [net.Socket];
  const worker = new Worker(
    `require('node:worker_threads').parentPort.once('message', ({ socket }) => { socket.pipe(socket); socket.resume(); });`,
    { eval: true },
  );
  try {
    try {
      worker.postMessage({ socket: accepted }, [accepted as unknown as TransferListItem]);
    } catch {
      await destroy(accepted);
      return false;
    }
    client.end('x');
    return (await readAll(client)).toString() === 'x';
  } finally {
    await destroy(client);
    await worker.terminate();
    server.close();
    await once(server, 'close');
  }
}

const transferable = await socketReachesWorker();
const withTransfer = testWith(await requirement('socket-transfer'));

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

  withTransfer('returns every byte of 4 MiB written before the shard got the socket', async () => {
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
  });
});
