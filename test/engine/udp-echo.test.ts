import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createEngine, type SyscallError } from '../../src/index.js';
import { fixtureHandler } from '../helpers/engine.js';
import { useTeardown } from '../helpers/sockets.js';
import { UdpClient } from '../helpers/udp.js';

const defer = useTeardown();
const PORTS = 8;
const PER_PORT = 200;

describe.each([
  ['IPv4', '127.0.0.1', 'dgram'],
  ['IPv6', '::1', 'dgram'],
  ['IPv4', '127.0.0.1', 'batched'],
  ['IPv6', '::1', 'batched'],
] as const)('UDP echo on many ports over %s (%s), io %s', (_family, host, io) => {
  it('echoes every datagram in order from the shard that owns the port (port % shards)', async () => {
    const engine = createEngine({ shards: 2 }).udp({
      host,
      io,
      ports: Array.from({ length: PORTS }, () => 0),
      handler: fixtureHandler('udp-echo.ts'),
    });
    await engine.start();
    defer(() => engine.close({ timeoutMs: 200 }));
    const client = await UdpClient.open(host);
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
    // Not a fixed range: it could be taken, by a port-0 bind of a test running meanwhile among others. A
    // random one below the kernel's ephemeral range (which port 0 draws from), another if it is in use.
    const [ephemeralLow] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
      .split(/\s+/)
      .map(Number);
    for (let attempt = 1; ; attempt++) {
      const from = 1024 + Math.floor(Math.random() * (ephemeralLow! - 1024 - 4));
      const engine = createEngine({ shards: 2 }).udp({
        ports: { from, to: from + 3 },
        handler: fixtureHandler('udp-echo.ts'),
      });
      const failed = await engine.start().then(
        () => undefined,
        (error: SyscallError) => error,
      );
      if (failed?.code === 'EADDRINUSE' && attempt < 10) continue;
      if (failed !== undefined) throw failed;
      defer(() => engine.close({ timeoutMs: 200 }));
      const ports = [from, from + 1, from + 2, from + 3];
      expect(engine.udpPorts().map((p) => [p.port, p.shards[0]])).toEqual(ports.map((p) => [p, p % 2]));
      const client = await UdpClient.open();
      defer(() => client.close());
      for (const port of ports) {
        client.send('which', port);
        expect((await client.receive(1))[0]![0]).toBe(port % 2);
      }
      return;
    }
  });
});
