import dgram from 'node:dgram';
import { describe, expect, it } from 'vitest';
import { createEngine, SyscallError } from '../../src/index.js';
import { fixtureHandler } from '../helpers/engine.js';
import { useTeardown } from '../helpers/sockets.js';
import { UdpClient } from '../helpers/udp.js';

const defer = useTeardown();

async function echoEngine(io: 'dgram' | 'batched', maxDatagram?: number, recvBufferSize?: number) {
  const engine = createEngine({ shards: 2 }).udp({
    io,
    ports: [0],
    handler: fixtureHandler('udp-echo.ts'),
    ...(maxDatagram === undefined ? {} : { maxDatagram }),
    ...(recvBufferSize === undefined ? {} : { recvBufferSize }),
  });
  engine.on('handler-error', () => {});
  await engine.start();
  defer(() => engine.close({ timeoutMs: 200 }));
  const client = await UdpClient.open();
  defer(() => client.close());
  return { engine, client, port: engine.udpPorts()[0]!.port };
}

describe.each(['dgram', 'batched'] as const)('UDP bad input, io %s', (io) => {
  it('drops and counts a datagram larger than maxDatagram, then serves the next', async () => {
    const { engine, client, port } = await echoEngine(io, 100);
    client.send(Buffer.alloc(200, 1), port);
    client.send(Buffer.alloc(100, 2), port);
    const [reply] = await client.receive(1);
    expect(reply!.length).toBe(101);
    expect(await client.silentFor(50)).toBe(true);
    // (The wait above also lets the counters published after the reply land: they are per batch.)
    expect(engine.udpPorts()[0]).toMatchObject({ datagramsIn: 2, oversized: 1, datagramsOut: 1 });
  });

  it('counts what the kernel drops when the shard cannot keep up (a full receive buffer)', async () => {
    const { engine, client, port } = await echoEngine(io, undefined, 4096);
    const SENT = 200;
    client.send('busy:300', port);
    await new Promise((resolve) => setTimeout(resolve, 50)); // the shard is now busy
    for (let i = 0; i < SENT; i++) client.send(Buffer.alloc(1000, i), port);
    // Every datagram is either received or counted as dropped by the kernel (/proc/net/udp).
    const deadline = Date.now() + 5_000;
    let stats = engine.udpPorts()[0]!;
    while (stats.datagramsIn + stats.kernelDrops < SENT + 1 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      stats = engine.udpPorts()[0]!;
    }
    expect(stats.kernelDrops).toBeGreaterThan(0);
    expect(stats.datagramsIn + stats.kernelDrops).toBe(SENT + 1);
    await client.receive(stats.datagramsIn - 1);
  });

  it('counts a throwing handler and keeps the port serving', async () => {
    const { engine, client, port } = await echoEngine(io);
    client.send('throw', port);
    client.send('after', port);
    const [reply] = await client.receive(1);
    expect(reply!.subarray(1).toString()).toBe('after');
    expect(engine.udpPorts()[0]!.handlerErrors).toBe(1);
  });

  it('survives sending to an unreachable peer (ICMP port unreachable) and serves on', async () => {
    const { client, port } = await echoEngine(io);
    // A port nobody listens on: bind one, note it, close it.
    const probe = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => probe.bind(0, '127.0.0.1', resolve));
    const closedPort = probe.address().port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    for (let i = 0; i < 20; i++) client.send(`unreachable:${closedPort}`, port);
    await new Promise((resolve) => setTimeout(resolve, 50));
    client.send('still there?', port);
    const [reply] = await client.receive(1);
    expect(reply!.subarray(1).toString()).toBe('still there?');
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
