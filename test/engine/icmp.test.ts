import net from 'node:net';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { createEngine } from '../../src/index.js';
import { fixtureHandler, portOf } from '../helpers/engine.js';
import { requirement, testWith } from '../helpers/requirements.js';
import { closed, useTeardown } from '../helpers/sockets.js';
import { UdpClient } from '../helpers/udp.js';
import { childWithout, runWithout } from '../helpers/without-capability.js';

const defer = useTeardown();
const withIcmp = testWith(await requirement('raw-icmp'));
// raw-socket must load (else start() fails with ERR_ICMP_UNAVAILABLE, which is not what that test checks).
const withoutNetRaw = testWith(await requirement('raw-socket'), childWithout('net_raw'));

/** A line-oriented session with the icmp-probe TCP handler. */
async function probeSession(port: number) {
  const socket = net.connect(port, '127.0.0.1');
  const lines = createInterface({ input: socket })[Symbol.asyncIterator]();
  const shard = Number((await lines.next()).value);
  return {
    socket,
    shard,
    async ask<T>(command: string): Promise<T> {
      socket.write(`${command}\n`);
      return JSON.parse((await lines.next()).value as string) as T;
    },
  };
}

interface PingReply {
  shardId: number;
  identifier: number;
  transmitted: number;
  received: number;
  lossPercent: number;
  rtt: { minMs: number; avgMs: number; maxMs: number; mdevMs: number } | null;
}

describe('ICMP through the coordinator and the rings', () => {
  withIcmp('pings from two shards at once, each reply reaching the shard that sent the request', async () => {
    const probe = fixtureHandler('icmp-probe.ts');
    const engine = createEngine({ shards: 2 })
      .tcp({ port: 0, handler: probe, balance: 'round-robin' })
      .icmp({ handler: probe });
    await engine.start();
    defer(() => engine.close({ timeoutMs: 200 }));
    const sessions = [await probeSession(portOf(engine)), await probeSession(portOf(engine))];
    defer(() => {
      for (const s of sessions) s.socket.destroy();
    });
    expect(sessions.map((s) => s.shard).sort()).toEqual([0, 1]);
    const results = await Promise.all(sessions.map((s) => s.ask<PingReply>('ping 300')));
    for (const result of results) {
      expect(result).toMatchObject({ transmitted: 300, received: 300, lossPercent: 0 });
      expect(result.rtt!.minMs).toBeGreaterThan(0);
      expect(result.rtt!.maxMs).toBeGreaterThanOrEqual(result.rtt!.avgMs);
    }
    expect(results[0]!.identifier).not.toBe(results[1]!.identifier);
    for (const session of sessions) {
      const seen = await session.ask<{ identifiers: number[] }>('seen');
      const own = results.find((r) => r.shardId === session.shard)!.identifier;
      // Every echo reply this shard's handler saw carried its own identifier: none leaked across.
      expect(seen.identifiers).toEqual([own]);
    }
    const icmp = engine.stats().icmp!;
    expect(icmp.routedToShard.every((n) => n >= 300)).toBe(true);
    expect(icmp.dropped['own-request']).toBeGreaterThanOrEqual(600);
    expect(icmp.sent).toBe(600);
  });

  withIcmp('routes a port unreachable to the shard that owns the sending UDP port', async () => {
    const engine = createEngine({ shards: 2 })
      .udp({ ports: [0], handler: fixtureHandler('udp-echo.ts'), shardFor: () => 1 })
      .icmp();
    await engine.start();
    defer(() => engine.close({ timeoutMs: 200 }));
    const client = await UdpClient.open();
    defer(() => client.close());
    const closed = await UdpClient.open();
    const closedPort = closed.socket.address().port;
    await closed.close();
    const port = engine.udpPorts()[0]!.port;
    for (let i = 0; i < 5; i++) client.send(`unreachable:${closedPort}`, port);
    await expect.poll(() => engine.udpPorts()[0]!.peerUnreachable, { timeout: 3_000 }).toBe(5);
    const icmp = engine.stats().icmp!;
    expect(icmp.routed.unreachable).toBe(5);
    expect(icmp.routedToShard[1]).toBe(5);
    expect(icmp.routedToShard[0]).toBe(0);
  });

  withoutNetRaw('fails start() whole without CAP_NET_RAW, saying what it needs', async () => {
    const fixture = new URL('../fixtures/engine-icmp-unprivileged.ts', import.meta.url);
    const result = (await runWithout('net_raw', fixture)) as {
      code: string;
      message: string;
      online: number;
    };
    expect(result.code).toBe('ERR_ICMP_PERMISSION');
    expect(result.message).toMatch(/CAP_NET_RAW/);
    expect(result.message).toMatch(/setcap cap_net_raw\+ep/);
    expect(result.online).toBe(0);
  });

  it('rejects context.ping() with ERR_ICMP_UNAVAILABLE when the engine serves no ICMP', async () => {
    const engine = createEngine({ shards: 1 }).tcp({ port: 0, handler: fixtureHandler('icmp-probe.ts') });
    await engine.start();
    defer(() => engine.close({ timeoutMs: 200 }));
    const session = await probeSession(portOf(engine));
    defer(() => session.socket.destroy());
    expect(await session.ask('ping 1')).toEqual({ error: 'ERR_ICMP_UNAVAILABLE' });
    session.socket.end();
    await closed(session.socket);
  });
});
