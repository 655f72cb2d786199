import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { createEngine } from '../../src/index.js';
import { fixtureHandler, portOf } from '../helpers/engine.js';
import { shareGate } from '../helpers/gate.js';
import { closed, useTeardown } from '../helpers/sockets.js';

const defer = useTeardown();
const CLIENTS = 150;

describe('a full control ring', () => {
  it('closes and counts the connections it cannot hand off, never blocking or losing one silently', async () => {
    // 1 KiB holds 42 handoff records; the only shard is held at a gate while the clients connect.
    const { gate, name, unshare } = shareGate();
    defer(unshare);
    const engine = createEngine({ shards: 1, controlRingBytes: 1024 }).tcp({
      port: 0,
      handler: fixtureHandler(`stall-first.ts?gate=${name}`),
    });
    await engine.start();
    defer(() => engine.close({ timeoutMs: 500 }));
    const port = portOf(engine);
    const staller = net.connect(port, '127.0.0.1');
    defer(() => staller.destroy());
    await gate.reached();
    const outcomes = Promise.all(
      Array.from({ length: CLIENTS }, async (_, i) => {
        const socket = net.connect(port, '127.0.0.1');
        socket.on('error', () => {});
        const echoed = new Promise<boolean>((resolve) => socket.once('data', () => resolve(true)));
        socket.write(`client ${i}`);
        const served = await Promise.race([echoed, closed(socket).then(() => false)]);
        socket.destroy();
        return served;
      }),
    );
    // Every client has been accepted, and handed off or dropped, while the shard took none: let it go.
    await expect.poll(() => engine.stats().listeners[0]!.accepted, { timeout: 5_000 }).toBe(CLIENTS + 1);
    gate.open();
    const served = (await outcomes).filter(Boolean).length;
    const listener = engine.stats().listeners[0]!;
    expect(listener.dropped).toBeGreaterThan(0);
    // Each client was either served or closed at once and counted: none hung, none vanished.
    expect(served + listener.dropped).toBe(CLIENTS);
    expect(listener.accepted).toBe(CLIENTS + 1);
  });
});
