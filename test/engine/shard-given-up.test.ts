import { randomUUID } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createEngine, type Engine, type EngineStats, type SockshardError } from '../../src/index.js';
import { fixtureHandler, portOf, until } from '../helpers/engine.js';
import { connectionFdsOn, TCP_CLOSE_WAIT, tcpSocketsOn } from '../helpers/proc-net.js';
import { kill, oneOnEach, type Session, session } from '../helpers/sessions.js';
import { closed, useTeardown } from '../helpers/sockets.js';
import { UdpClient } from '../helpers/udp.js';

const defer = useTeardown();

/** A file that does not exist yet: the mortal-tcp fixture's "freeze" holds its shard until it does. */
function gateFile(): { readonly path: string; open(): void } {
  const path = join(tmpdir(), `sockshard-gate-${randomUUID()}`);
  defer(() => rmSync(path, { force: true }));
  return { path, open: () => writeFileSync(path, '') };
}

function events(engine: Engine) {
  const errors: SockshardError[] = [];
  engine.on('error', (error) => errors.push(error));
  return errors;
}

/**
 * A client that asks "whoami" on a fresh connection: resolves with the shard that answered, or with
 * 'closed' if the connection ended without an answer (its shard died with it, or it was dropped).
 */
function ask(
  port: number,
  prelude = '',
): {
  readonly connected: Promise<void>;
  readonly outcome: Promise<number | 'closed'>;
} {
  const socket = net.connect(port, '127.0.0.1');
  socket.setEncoding('utf8');
  const connected = new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  const outcome = new Promise<number | 'closed'>((resolve) => {
    socket.once('data', (text: string) => {
      resolve(Number(text.trim()));
      socket.destroy();
    });
    void closed(socket).then(() => resolve('closed'));
  });
  socket.write(`${prelude}whoami`);
  defer(() => socket.destroy());
  return { connected, outcome };
}

/** Records the coordinator wrote to shard `shardId`'s control ring that it has not taken yet. */
function ringPending(engine: Engine, shardId: number): number {
  const { recordsIn, recordsOut } = engine.stats().shards[shardId]!.controlRing;
  return recordsIn - recordsOut;
}

/** What the totals must say once nothing is open: every connection accounted for exactly once. */
function expectCountersAddUp(stats: EngineStats): void {
  const { total } = stats;
  expect(total.connections).toBe(0);
  expect(total.handedOff + total.accepted).toBe(total.closed + total.connectionsLost);
  for (const listener of stats.listeners) {
    expect(listener.accepted).toBe(
      stats.shards.reduce((sum, shard) => sum + shard.handedOff, 0) +
        listener.dropped +
        listener.refusedMaxConnections +
        listener.refusedShardsFull +
        listener.refusedPerAddress,
    );
  }
}

describe('a shard given up past its restart budget', () => {
  // Behind a balancer the ring's records are RECORD_HANDOFF_PROXIED: their fds must be given back too.
  it.each([
    { via: 'directly', prelude: '', proxyProtocol: undefined },
    {
      via: 'behind a PROXY protocol balancer',
      prelude: 'PROXY TCP4 192.0.2.7 127.0.0.1 40000 80\r\n',
      proxyProtocol: { from: ['127.0.0.1'] },
    },
  ])(
    'closes the connections still waiting in its control ring ($via): no fd kept, none in CLOSE-WAIT, counts exact',
    async ({ prelude, proxyProtocol }) => {
      const gate = gateFile();
      const engine = createEngine({ shards: 2, restart: { maxRestarts: 0, spare: false } }).tcp({
        port: 0,
        handler: fixtureHandler(`mortal-tcp.ts?gate=${encodeURIComponent(gate.path)}`),
        balance: 'round-robin',
        ...(proxyProtocol === undefined ? {} : { proxyProtocol }),
      });
      const errors = events(engine);
      await engine.start();
      defer(() => engine.close({ timeoutMs: 200 }));
      const port = portOf(engine);

      const [survivor, victim] = await oneOnEach(port, prelude);
      await until(() => engine.stats().total.connections === 2, 5_000);
      victim.socket.on('error', () => {});
      // Shard 1 now adopts nothing: what it is handed waits in its ring.
      expect(await victim.ask('freeze')).toBe('frozen\n');
      const clients = Array.from({ length: 20 }, () => ask(port, prelude));
      await Promise.all(clients.map((client) => client.connected));
      // Round-robin: every other connection went to shard 1, into its ring.
      await until(() => ringPending(engine, 1) === 10, 5_000);
      gate.open();

      const outcomes = await Promise.all(clients.map((client) => client.outcome));
      expect(outcomes.filter((outcome) => outcome === 0)).toHaveLength(10);
      expect(outcomes.filter((outcome) => outcome === 'closed')).toHaveLength(10);
      await until(() => engine.stats().shards[1]!.state === 'given-up', 5_000);
      expect(errors.map((error) => error.code)).toEqual(['ERR_SHARD_EXIT', 'ERR_SHARD_RESTART_BUDGET']);
      expect(engine.state).toBe('degraded');
      expect(engine.stats().shards[1]).toMatchObject({
        alive: false,
        connections: 0,
        connectionsLost: 11, // the frozen session and the 10 in its ring
        controlRing: expect.objectContaining({ usedBytes: 0 }),
      });

      // Shard 0 serves on.
      const later = await session(port, prelude);
      expect(later.shard).toBe(0);
      later.socket.destroy();
      survivor.socket.destroy();
      await until(() => engine.stats().total.connections === 0, 5_000);
      // No fd holds a connection of the port (shard 1's, in its ring or adopted, nor shard 0's), and no
      // server side waits in CLOSE-WAIT for a close that would never come.
      await until(() => connectionFdsOn(port) === 0, 2_000);
      expect(tcpSocketsOn(port).filter((socket) => socket.state === TCP_CLOSE_WAIT)).toEqual([]);
      expectCountersAddUp(engine.stats());
    },
  );

  it('counts what the clients saw: answered, lost with a dying shard, dropped while none serves', async () => {
    const gate = gateFile();
    // One shard: it restarts at once after its first death, and waits a minute after its second.
    const engine = createEngine({
      shards: 1,
      restart: { maxRestarts: 2, backoffMs: 60_000, spare: false },
    }).tcp({ port: 0, handler: fixtureHandler(`mortal-tcp.ts?gate=${encodeURIComponent(gate.path)}`) });
    events(engine);
    await engine.start();
    defer(() => engine.close({ timeoutMs: 200 }));
    const port = portOf(engine);

    const first: Session = await session(port);
    first.socket.on('error', () => {});
    expect(await first.ask('freeze')).toBe('frozen\n');
    const waiting = Array.from({ length: 5 }, () => ask(port));
    await until(() => ringPending(engine, 0) === 5, 5_000);
    gate.open();
    // The restarted shard adopts what waited in the ring: those clients are answered.
    expect(await Promise.all(waiting.map((client) => client.outcome))).toEqual([0, 0, 0, 0, 0]);

    await until(() => engine.stats().total.connections === 0, 5_000);
    const second = await session(port);
    await kill(second, 'exit');
    await until(() => engine.stats().shards[0]!.state === 'restarting', 5_000);
    const dropped = Array.from({ length: 4 }, () => ask(port));
    expect(await Promise.all(dropped.map((client) => client.outcome))).toEqual([
      'closed',
      'closed',
      'closed',
      'closed',
    ]);
    expect(engine.stats().shards[0]!.state).toBe('restarting');

    const stats = engine.stats();
    expect(stats.listeners[0]!.dropped).toBe(4);
    expect(stats.total.connectionsLost).toBe(2); // the frozen session and the one that exited
    expectCountersAddUp(stats);
  });

  it.each(['dgram', 'batched'] as const)(
    'moves its UDP port to a shard that serves (io %s), with the datagrams that queued meanwhile',
    async (io) => {
      const engine = createEngine({ shards: 2, restart: { maxRestarts: 0 } })
        .tcp({ port: 0, handler: fixtureHandler('mortal-tcp.ts'), balance: 'round-robin' })
        .udp({ ports: [0], handler: fixtureHandler('udp-echo.ts'), shardFor: () => 1, io });
      events(engine);
      await engine.start();
      defer(() => engine.close({ timeoutMs: 200 }));
      const udpPort = engine.udpPorts()[0]!.port;
      const client = await UdpClient.open();
      defer(() => client.close());
      client.send('before', udpPort);
      expect((await client.receive(1))[0]![0]).toBe(1);

      const [survivor, victim] = await oneOnEach(portOf(engine));
      defer(() => survivor.socket.destroy());
      await kill(victim, 'exit');
      for (let i = 0; i < 10; i++) client.send(`after ${i}`, udpPort);
      const replies = await client.receive(10);
      expect(replies.map((reply) => [reply[0], reply.subarray(1).toString()])).toEqual(
        Array.from({ length: 10 }, (_, i) => [0, `after ${i}`]),
      );
      // A shard publishes a send's count once the kernel has taken it, which may be after the reply arrived.
      await until(() => engine.udpPorts()[0]!.datagramsOut === 11, 5_000);
      expect(engine.udpPorts()[0]).toMatchObject({ shards: [0], datagramsIn: 11, datagramsOut: 11 });
      expect(engine.stats().shards[1]!.state).toBe('given-up');
    },
  );

  it("takes its reusePort socket out of the port's group: every flow reaches a shard that serves", async () => {
    const engine = createEngine({ shards: 2, restart: { maxRestarts: 0 } })
      .tcp({ port: 0, handler: fixtureHandler('mortal-tcp.ts'), balance: 'round-robin' })
      .udp({ ports: [0], handler: fixtureHandler('udp-echo.ts'), reusePort: true });
    events(engine);
    await engine.start();
    defer(() => engine.close({ timeoutMs: 200 }));
    const udpPort = engine.udpPorts()[0]!.port;
    const [survivor, victim] = await oneOnEach(portOf(engine));
    defer(() => survivor.socket.destroy());
    await kill(victim, 'exit');
    await until(() => engine.udpPorts()[0]!.shards.length === 1, 5_000);
    // 40 flows (one source port each): the kernel had spread them over both shards' sockets.
    const clients: UdpClient[] = await Promise.all(Array.from({ length: 40 }, () => UdpClient.open()));
    defer(() => Promise.all(clients.map((client) => client.close())));
    for (const [i, client] of clients.entries()) client.send(`flow ${i}`, udpPort);
    const replies = await Promise.all(clients.map(async (client) => (await client.receive(1))[0]!));
    expect(replies.map((reply) => reply[0])).toEqual(Array.from({ length: 40 }, () => 0));
    expect(engine.udpPorts()[0]!.shards).toEqual([0]);
  });
});
