import { describe, expect, it } from 'vitest';
import { createEngine } from '../../src/index.js';
import { fixtureHandler, hangUp, portOf, shardOf } from '../helpers/engine.js';
import { useTeardown } from '../helpers/sockets.js';
import { UdpClient } from '../helpers/udp.js';

const defer = useTeardown();
const MESSAGES = 2_000;

describe('the shard ring mesh', () => {
  it('carries sendToShard from a TCP session on shard 1 to a UDP peer owned by shard 0, in order', async () => {
    const engine = createEngine({ shards: 2 })
      .udp({ ports: [0], handler: fixtureHandler('mesh-udp.ts'), shardFor: () => 0 }) // listener 0
      .tcp({ port: 0, handler: fixtureHandler('mesh-tcp.ts'), balance: 'round-robin' }); // listener 1
    await engine.start();
    defer(() => engine.close({ timeoutMs: 200 }));
    const udpPort = engine.udpPorts()[0]!.port;
    const subscriber = await UdpClient.open();
    defer(() => subscriber.close());
    subscriber.send('subscribe', udpPort);
    expect((await subscriber.receive(1))[0]!.toString()).toBe('subscribed on shard 0');

    // Round-robin: of two connections, one is on shard 1.
    const sessions = [await shardOf(portOf(engine, 1)), await shardOf(portOf(engine, 1))];
    defer(() => Promise.all(sessions.map((s) => hangUp(s.socket))));
    const onShard1 = sessions.find((s) => s.shard === 1)!;
    let full = 0;
    onShard1.socket.on('data', (data: string) => {
      full += data.split('\n').filter((line) => line === 'full').length;
    });
    // Windows of 100: each message becomes a datagram to a socket buffer, which must not overflow.
    const received: string[] = [];
    for (let base = 0; base < MESSAGES; base += 100) {
      onShard1.socket.write(Array.from({ length: 100 }, (_, i) => `0 0 message ${base + i}\n`).join(''));
      received.push(...(await subscriber.receive(100)).map((d) => d.toString()));
    }
    expect(full).toBe(0);
    expect(received).toEqual(Array.from({ length: MESSAGES }, (_, i) => `from 1: message ${i}`));
    const [shard0, shard1] = engine.stats().shards;
    expect(shard1!.shardMessagesOut).toBe(MESSAGES);
    expect(shard0!.shardMessagesIn).toBe(MESSAGES);
  });

  it('refuses with false and counts it when the ring to a shard is full', async () => {
    const engine = createEngine({ shards: 2, meshRingBytes: 1024 })
      .udp({ ports: [0], handler: fixtureHandler('mesh-udp.ts'), shardFor: () => 0 })
      .tcp({ port: 0, handler: fixtureHandler('mesh-tcp.ts'), balance: 'round-robin' });
    await engine.start();
    defer(() => engine.close({ timeoutMs: 200 }));
    const sessions = [await shardOf(portOf(engine, 1)), await shardOf(portOf(engine, 1))];
    defer(() => Promise.all(sessions.map((s) => hangUp(s.socket))));
    const onShard1 = sessions.find((s) => s.shard === 1)!;
    const replies: string[] = [];
    onShard1.socket.on('data', (data: string) => replies.push(...data.split('\n').filter(Boolean)));
    // 400 messages of ~300 bytes in one write: far more than a 1 KiB ring holds before shard 0 drains it.
    onShard1.socket.write(
      Array.from({ length: 400 }, (_, i) => `0 0 ${String(i).padEnd(300, '.')}\n`).join(''),
    );
    const sentOrRefused = () =>
      engine.stats().shards[1]!.shardMessagesOut + engine.stats().shards[1]!.meshFull;
    await expect.poll(sentOrRefused, { timeout: 5_000 }).toBe(400);
    const shard1 = engine.stats().shards[1]!;
    await expect.poll(() => replies.length, { timeout: 5_000 }).toBe(shard1.meshFull);
    expect(shard1.meshFull).toBeGreaterThan(0);
    expect(shard1.shardMessagesOut + shard1.meshFull).toBe(400);
    expect(replies.filter((r) => r === 'full')).toHaveLength(shard1.meshFull);
  });
});
