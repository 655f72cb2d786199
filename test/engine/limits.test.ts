import { once } from 'node:events';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { type ConnectionLimits, createEngine } from '../../src/index.js';
import { fixtureHandler, hangUp, portOf } from '../helpers/engine.js';
import { closed, useTeardown } from '../helpers/sockets.js';

const defer = useTeardown();

/** Connects; resolves served (with the serving shard from its id line), or not if the connection closes first. */
async function attempt(
  port: number,
  localAddress?: string,
): Promise<{ socket: net.Socket; served: boolean; shardId?: number }> {
  const socket = net.connect({
    port,
    host: '127.0.0.1',
    ...(localAddress === undefined ? {} : { localAddress }),
  });
  socket.on('error', () => {});
  // Plain listeners, not events.once (which rejects on 'error': a refused connection may be reset).
  const line = await Promise.race([
    new Promise<string>((resolve) => socket.once('data', (data: Buffer) => resolve(data.toString()))),
    new Promise<undefined>((resolve) => socket.once('close', () => resolve(undefined))),
  ]);
  return line === undefined
    ? { socket, served: false }
    : { socket, served: true, shardId: Number(line.trim()) };
}

async function limitedEngine(
  limits: ConnectionLimits,
  balance: 'least-connections' | 'kernel' = 'least-connections',
) {
  const engine = createEngine({ shards: 2, limits }).tcp({
    port: 0,
    handler: fixtureHandler('shard-id.ts'),
    balance,
  });
  await engine.start();
  defer(() => engine.close({ timeoutMs: 200 }));
  return engine;
}

async function attempts(port: number, count: number, localAddress?: string) {
  const results: Awaited<ReturnType<typeof attempt>>[] = [];
  for (let i = 0; i < count; i++) results.push(await attempt(port, localAddress));
  defer(() => Promise.all(results.map(({ socket }) => (socket.closed ? undefined : hangUp(socket)))));
  return results;
}

describe('connection limits', () => {
  it('maxConnections refuses past the cap, counts it, and admits again once connections close', async () => {
    const engine = await limitedEngine({ maxConnections: 10 });
    const results = await attempts(portOf(engine), 15);
    expect(results.map((r) => r.served)).toEqual([...Array(10).fill(true), ...Array(5).fill(false)]);
    expect(engine.stats().listeners[0]!.refusedMaxConnections).toBe(5);
    await Promise.all(results.slice(0, 3).map(({ socket }) => hangUp(socket)));
    await expect.poll(() => engine.stats().total.connections).toBe(7);
    expect((await attempts(portOf(engine), 4)).map((r) => r.served)).toEqual([true, true, true, false]);
  });

  it('maxConnectionsPerShard fills every shard, then refuses', async () => {
    const engine = await limitedEngine({ maxConnectionsPerShard: 3 });
    const results = await attempts(portOf(engine), 8);
    expect(results.filter((r) => r.served)).toHaveLength(6);
    expect(engine.stats().shards.map((s) => s.connections)).toEqual([3, 3]);
    expect(engine.stats().listeners[0]!.refusedShardsFull).toBe(2);
  });

  it('maxConnectionsPerAddress caps one client address, not the others', async () => {
    const engine = await limitedEngine({ maxConnectionsPerAddress: 4 });
    const greedy = await attempts(portOf(engine), 6, '127.0.0.2');
    expect(greedy.map((r) => r.served)).toEqual([true, true, true, true, false, false]);
    const other = await attempts(portOf(engine), 2, '127.0.0.3');
    expect(other.every((r) => r.served)).toBe(true);
    expect(engine.stats().listeners[0]!.refusedPerAddress).toBe(2);
    // Closing one of the greedy client's connections lets it open one more.
    await hangUp(greedy[0]!.socket);
    await expect.poll(() => engine.stats().total.connections).toBe(5);
    expect((await attempts(portOf(engine), 1, '127.0.0.2'))[0]!.served).toBe(true);
  });

  it("maxConnectionsPerShard caps each shard's own socket with balance 'kernel'", async () => {
    const engine = await limitedEngine({ maxConnectionsPerShard: 2 }, 'kernel');
    const results = await attempts(portOf(engine), 12);
    // The shard-id handler's first line says which shard serves each connection.
    const servedBy = [0, 0];
    for (const { shardId } of results) if (shardId !== undefined) servedBy[shardId]! += 1;
    // No shard past its cap; and of 12 connections hashed over 2 sockets, one socket got 6 or more, so at
    // least one shard is full (none served at all would pass a bare "at most 4").
    expect(Math.max(...servedBy)).toBe(2);
    expect(engine.stats().shards.map((s) => s.connections)).toEqual(servedBy);
    expect(engine.stats().total.kernelRefused).toBe(12 - servedBy[0]! - servedBy[1]!);
  });
});

describe('timeouts', () => {
  it('idleTimeoutMs ends a silent connection and spares a chatty one', async () => {
    const engine = createEngine({ shards: 1 }).tcp({
      port: 0,
      handler: fixtureHandler('echo.ts'),
      idleTimeoutMs: 150,
    });
    await engine.start();
    defer(() => engine.close({ timeoutMs: 200 }));
    const silent = net.connect(portOf(engine), '127.0.0.1');
    const chatty = net.connect(portOf(engine), '127.0.0.1');
    let lastEcho = 0;
    chatty.on('data', () => {
      lastEcho = performance.now();
    });
    defer(() => hangUp(chatty));
    const silentClosed = closed(silent);
    const started = performance.now();
    const talk = setInterval(() => chatty.write('.'), 40);
    defer(() => clearInterval(talk));
    await silentClosed;
    const idleFor = performance.now() - started;
    // The chatty one lives on: its echoes keep coming for three idle timeouts.
    await expect.poll(() => lastEcho - started, { timeout: 5_000 }).toBeGreaterThan(3 * 150);
    clearInterval(talk);
    expect(idleFor).toBeGreaterThanOrEqual(140);
    expect(chatty.closed).toBe(false);
    expect(engine.stats().total.idleTimeouts).toBe(1);
  });

  it('ends slowloris connections (408) while a well-behaved client is served', async () => {
    const engine = createEngine({ shards: 2 }).http({
      port: 0,
      handler: fixtureHandler('hello-http.ts'),
      headersTimeout: 300,
      requestTimeout: 400,
      connectionsCheckingInterval: 50,
    });
    await engine.start();
    defer(() => engine.close({ timeoutMs: 200 }));
    const port = portOf(engine);
    const slow = Array.from({ length: 20 }, () => net.connect(port, '127.0.0.1'));
    const answers = slow.map((socket) => {
      socket.setEncoding('utf8');
      let text = '';
      socket.on('data', (chunk: string) => {
        text += chunk;
      });
      socket.on('error', () => {});
      // Not events.once: it rejects on 'error', and a reset after the 408 is the server's right.
      return new Promise<string>((resolve) => socket.once('close', () => resolve(text)));
    });
    const header = 'GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ';
    let sent = 0;
    const drip = setInterval(() => {
      for (const socket of slow) if (!socket.closed) socket.write(header[sent % header.length]!);
      sent++;
    }, 50);
    try {
      for (let i = 0; i < 5; i++) {
        const started = performance.now();
        const response = await fetch(`http://127.0.0.1:${port}/ok`, { headers: { connection: 'close' } });
        expect(response.status).toBe(200);
        await response.text();
        expect(performance.now() - started).toBeLessThan(500);
      }
      const texts = await Promise.all(answers);
      // Each got its 408 (unless a reset overtook it: the server destroys the socket right after).
      expect(texts.every((text) => text === '' || text.startsWith('HTTP/1.1 408'))).toBe(true);
      expect(texts.some((text) => text.startsWith('HTTP/1.1 408'))).toBe(true);
    } finally {
      clearInterval(drip);
    }
    expect(engine.stats().total.httpTimeouts).toBe(20);
  });

  it('answers a malformed request with 400 and counts it', async () => {
    const engine = createEngine({ shards: 1 }).http({ port: 0, handler: fixtureHandler('hello-http.ts') });
    await engine.start();
    defer(() => engine.close({ timeoutMs: 200 }));
    const socket = net.connect(portOf(engine), '127.0.0.1');
    socket.end('NOT HTTP AT ALL\r\n\r\n');
    const [data] = (await once(socket, 'data')) as [Buffer];
    expect(data.toString()).toMatch(/^HTTP\/1.1 400/);
    expect(engine.stats().total.httpBadRequests).toBe(1);
  });
});
