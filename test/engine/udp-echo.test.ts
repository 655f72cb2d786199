import { describe, expect, it } from 'vitest';
import { createEngine } from '../../src/index.js';
import { fixtureHandler } from '../helpers/engine.js';
import { useTeardown } from '../helpers/sockets.js';
import { UdpClient } from '../helpers/udp.js';

const defer = useTeardown();
const PORTS = 8;
const PER_PORT = 200;

describe.each([
  ['IPv4', '127.0.0.1', 'dgram', 4],
  ['IPv6', '::1', 'dgram', 6],
  ['IPv4', '127.0.0.1', 'batched', 4],
  ['IPv6', '::1', 'batched', 6],
] as const)('UDP echo on many ports over %s (%s), io %s', (_family, host, io, family) => {
  it('echoes every datagram in order from the shard that owns the port (port % shards)', async () => {
    const engine = createEngine({ shards: 2 }).udp({
      host,
      io,
      ports: Array.from({ length: PORTS }, () => 0),
      handler: fixtureHandler('udp-echo.ts'),
    });
    await engine.start();
    defer(() => engine.close({ timeoutMs: 200 }));
    const client = await UdpClient.open(family);
    defer(() => client.close());
    const ports = engine.udpPorts();
    expect(ports).toHaveLength(PORTS);
    expect(ports.every((p) => p.io === io)).toBe(true);
    for (const { port, shards } of ports) {
      expect(shards).toEqual([port % 2]);
      // Small windows: loopback does not drop, but a socket buffer could if we sent thousands at once.
      for (let base = 0; base < PER_PORT; base += 50) {
        for (let seq = base; seq < base + 50; seq++)
          client.send(`port ${port} seq ${seq} ${'x'.repeat(seq % 97)}`, port, host);
        const replies = await client.receive(50);
        replies.forEach((reply, i) => {
          const seq = base + i;
          expect(reply[0], `shard byte of port ${port}`).toBe(port % 2);
          expect(reply.subarray(1).toString()).toBe(`port ${port} seq ${seq} ${'x'.repeat(seq % 97)}`);
        });
      }
    }
    // A shard counts a send once the kernel took it, which can be after the client has the reply.
    const totals = () =>
      engine.stats().udp.reduce((sum, p) => [sum[0]! + p.datagramsIn, sum[1]! + p.datagramsOut], [0, 0]);
    await expect.poll(totals, { timeout: 2_000 }).toEqual([PORTS * PER_PORT, PORTS * PER_PORT]);
    expect(engine.stats().udp.every((p) => p.kernelDrops === 0 && p.handlerErrors === 0)).toBe(true);
  });
});

describe('UDP port map', () => {
  it('honours shardFor', async () => {
    const engine = createEngine({ shards: 2 }).udp({
      ports: [0, 0, 0],
      handler: fixtureHandler('udp-echo.ts'),
      shardFor: () => 1,
    });
    await engine.start();
    defer(() => engine.close({ timeoutMs: 200 }));
    const client = await UdpClient.open();
    defer(() => client.close());
    for (const { port, shards } of engine.udpPorts()) {
      expect(shards).toEqual([1]);
      client.send('which', port);
      expect((await client.receive(1))[0]![0]).toBe(1);
    }
  });

  it('fails start() when shardFor returns no shard', async () => {
    const engine = createEngine({ shards: 2 }).udp({
      ports: [0],
      handler: fixtureHandler('udp-echo.ts'),
      shardFor: () => 7,
    });
    await expect(engine.start()).rejects.toMatchObject({
      code: 'ERR_INVALID_OPTION',
      option: 'udp.shardFor',
    });
  });

  it('takes a port range', async () => {
    const engine = createEngine({ shards: 2 }).udp({
      ports: { from: 40_100, to: 40_103 },
      handler: fixtureHandler('udp-echo.ts'),
    });
    await engine.start();
    defer(() => engine.close({ timeoutMs: 200 }));
    expect(engine.udpPorts().map((p) => [p.port, p.shards[0]])).toEqual([
      [40_100, 0],
      [40_101, 1],
      [40_102, 0],
      [40_103, 1],
    ]);
  });
});
