import dgram from 'node:dgram';
import { describe, expect, it } from 'vitest';
import { createEngine, type Engine, SyscallError, type UdpOptions } from '../../src/index.js';
import { fixtureHandler } from '../helpers/engine.js';
import { shareGate } from '../helpers/gate.js';
import { requirement, testWith } from '../helpers/requirements.js';
import { useTeardown } from '../helpers/sockets.js';
import { closedPort, UdpClient } from '../helpers/udp.js';

const defer = useTeardown();
const withIcmp = testWith(await requirement('raw-icmp'));

async function echoEngine(
  io: 'dgram' | 'batched',
  options: Partial<UdpOptions> = {},
  icmp = false,
): Promise<{ engine: Engine; client: UdpClient; port: number }> {
  let engine = createEngine({ shards: 2 }).udp({
    io,
    ports: [0],
    handler: fixtureHandler('udp-echo.ts'),
    ...options,
  });
  if (icmp) engine = engine.icmp();
  engine.on('handler-error', () => {});
  await engine.start();
  defer(() => engine.close({ timeoutMs: 200 }));
  const client = await UdpClient.open(options.host ?? '127.0.0.1');
  defer(() => client.close());
  return { engine, client, port: engine.udpPorts()[0]!.port };
}

/** A gate shared with the shards started after this call, opened and withdrawn in teardown. */
function gate() {
  const shared = shareGate();
  defer(() => shared.unshare());
  return shared;
}

describe.each(['dgram', 'batched'] as const)('UDP bad input, io %s', (io) => {
  it('drops and counts a datagram larger than maxDatagram, then serves the next', async () => {
    const { engine, client, port } = await echoEngine(io, { maxDatagram: 100 });
    client.send(Buffer.alloc(200, 1), port);
    client.send(Buffer.alloc(100, 2), port);
    client.send('after', port);
    // One flow, one shard, in order: had the large one been echoed, it would be the first reply.
    const replies = await client.receive(2);
    expect(replies.map((reply) => reply.length)).toEqual([101, 6]);
    expect(replies[1]!.subarray(1).toString()).toBe('after');
    // Counters are published per batch, after the replies: wait for them.
    await expect
      .poll(() => engine.udpPorts()[0], { timeout: 2_000 })
      .toMatchObject({ datagramsIn: 3, oversized: 1, datagramsOut: 2 });
  });

  it.each([
    ['IPv4', '127.0.0.1'],
    ['IPv6', '::1'],
  ])(
    'counts what the kernel drops while the shard is held (a full receive buffer), over %s',
    async (_family, host) => {
      const { gate: held, name } = gate();
      const { engine, client, port } = await echoEngine(io, { host, recvBufferSize: 4096 });
      const SENT = 200;
      await client.send(`hold:${name}`, port);
      await held.reached();
      for (let i = 0; i < SENT; i++) await client.send(Buffer.alloc(1000, i), port);
      held.open();
      // Every datagram is either received or counted as dropped by the kernel (/proc/net/udp{,6}).
      await expect
        .poll(() => engine.udpPorts()[0]!, { timeout: 5_000 })
        .toSatisfy((stats) => stats.datagramsIn + stats.kernelDrops === SENT + 1);
      const stats = engine.udpPorts()[0]!;
      expect(stats.kernelDrops).toBeGreaterThan(0);
      await client.receive(stats.datagramsIn - 1);
    },
  );

  it('counts what the kernel drops on every socket of a reusePort port', async () => {
    const { gate: held, name } = gate();
    const { engine, port } = await echoEngine(io, { reusePort: true, recvBufferSize: 4096 });
    // One client flow per shard (the kernel hashes each flow to one of the port's sockets).
    const flows = new Map<number, UdpClient>();
    let tries = 0;
    for (; flows.size < 2; tries++) {
      if (tries === 40) throw new Error('40 client flows, all on one shard');
      const client = await UdpClient.open();
      defer(() => client.close());
      await client.send('which', port);
      const [reply] = await client.receive(1);
      if (!flows.has(reply![0]!)) flows.set(reply![0]!, client);
    }
    for (const client of flows.values()) await client.send(`hold:${name}`, port);
    await held.reached(2);
    const SENT = 100;
    for (const client of flows.values())
      for (let i = 0; i < SENT; i++) await client.send(Buffer.alloc(1000, i), port);
    held.open();
    const sent = tries + flows.size * (1 + SENT); // every "which", then "hold" and the flood per flow
    await expect
      .poll(() => engine.udpPorts()[0]!, { timeout: 5_000 })
      .toSatisfy((stats) => stats.datagramsIn + stats.kernelDrops === sent);
    // Both sockets dropped: each held shard's buffer took only a few of its 100.
    expect(engine.udpPorts()[0]!.kernelDrops).toBeGreaterThan(SENT);
  });

  it('counts a throwing handler and keeps the port serving', async () => {
    const { engine, client, port } = await echoEngine(io);
    client.send('throw', port);
    client.send('after', port);
    const [reply] = await client.receive(1);
    expect(reply!.subarray(1).toString()).toBe('after');
    expect(engine.udpPorts()[0]!.handlerErrors).toBe(1);
  });

  // The port's socket is unconnected, so the kernel never reports the ICMP errors to it: the raw socket
  // sees them, which proves they happened, while the port sends and serves on.
  withIcmp('sends to an unreachable peer (ICMP port unreachable comes back) and serves on', async () => {
    const { engine, client, port } = await echoEngine(io, {}, true);
    const gone = await closedPort();
    for (let i = 0; i < 20; i++) client.send(`unreachable:${gone}`, port);
    await expect.poll(() => engine.udpPorts()[0]!.peerUnreachable, { timeout: 3_000 }).toBe(20);
    client.send('still there?', port);
    const [reply] = await client.receive(1);
    expect(reply!.subarray(1).toString()).toBe('still there?');
    await expect
      .poll(() => engine.udpPorts()[0], { timeout: 2_000 })
      .toMatchObject({ datagramsIn: 21, datagramsOut: 21, sendErrors: 0, handlerErrors: 0 });
  });

  it('fails start() on a port in use, naming the port, leaving nothing open', async () => {
    const blocker = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => blocker.bind(0, '127.0.0.1', resolve));
    defer(() => new Promise<void>((resolve) => blocker.close(() => resolve())));
    const taken = blocker.address().port;
    const engine = createEngine({ shards: 2 }).udp({
      ports: [0, taken],
      handler: fixtureHandler('udp-echo.ts'),
    });
    const exits: number[] = [];
    engine.on('shard-exit', (shardId) => exits.push(shardId));
    const error = await engine.start().then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(SyscallError);
    expect(error).toMatchObject({ code: 'EADDRINUSE', port: taken });
    expect((error as Error).message).toContain(String(taken));
    expect(exits.sort()).toEqual([0, 1]);
  });
});
