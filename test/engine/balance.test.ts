import { describe, expect, it } from 'vitest';
import { type BalanceStrategy, createEngine } from '../../src/index.js';
import { fixtureHandler, hangUp, inBatches, portOf, shardOf } from '../helpers/engine.js';
import { useTeardown } from '../helpers/sockets.js';

const defer = useTeardown();
const CONNECTIONS = 1_000;

async function shardIdEngine(balance: BalanceStrategy) {
  const engine = createEngine({ shards: 2 }).tcp({
    port: 0,
    handler: fixtureHandler('shard-id.ts'),
    balance,
  });
  await engine.start();
  defer(() => engine.close({ timeoutMs: 500 }));
  return engine;
}

function tally(shards: number[]): number[] {
  const counts = [0, 0];
  for (const shard of shards) counts[shard]!++;
  return counts;
}

/** One short connection at a time per slot: open, learn the shard, hang up. */
async function shortConnections(port: number, count: number, localAddress?: string): Promise<number[]> {
  return inBatches([...Array(count).keys()], 25, async () => {
    const { shard, socket } = await shardOf(port, '127.0.0.1', localAddress);
    await hangUp(socket);
    return shard;
  });
}

describe('balance strategies over 1,000 connections', () => {
  it('round-robin alternates exactly', async () => {
    const engine = await shardIdEngine('round-robin');
    expect(tally(await shortConnections(portOf(engine), CONNECTIONS))).toEqual([500, 500]);
  });

  it('least-connections keeps open connections level, and refills the shard that lost connections', async () => {
    const engine = await shardIdEngine('least-connections');
    const held = await inBatches([...Array(CONNECTIONS).keys()], 50, () => shardOf(portOf(engine)));
    defer(() => Promise.all(held.map(({ socket }) => hangUp(socket))));
    const counts = tally(held.map((c) => c.shard));
    expect(Math.abs(counts[0]! - counts[1]!)).toBeLessThanOrEqual(2);

    // Close 200 of shard 1's connections: shard 0 is then 200 ahead, so the next 200 all go to shard 1.
    const leaving = held.filter((c) => c.shard === 1).slice(0, 200);
    await Promise.all(leaving.map(({ socket }) => hangUp(socket)));
    await expect.poll(() => engine.stats().shards[1]!.connections, { timeout: 2_000 }).toBe(counts[1]! - 200);
    const refill = await inBatches([...Array(200).keys()], 50, () => shardOf(portOf(engine)));
    defer(() => Promise.all(refill.map(({ socket }) => hangUp(socket))));
    expect(tally(refill.map((c) => c.shard))[1]).toBeGreaterThanOrEqual(196);
    const [a, b] = engine.stats().shards.map((s) => s.connections);
    expect(Math.abs(a! - b!)).toBeLessThanOrEqual(4);
  });

  it('hash keeps each client address on one shard', async () => {
    const engine = await shardIdEngine('hash');
    const seen = new Set<number>();
    for (let host = 1; host <= 10; host++) {
      const shards = await shortConnections(portOf(engine), 100, `127.0.0.${host}`);
      expect(new Set(shards).size, `client 127.0.0.${host}`).toBe(1);
      seen.add(shards[0]!);
    }
    expect([...seen].sort()).toEqual([0, 1]);
  });

  it('kernel (SO_REUSEPORT in every shard) spreads connections with no coordinator hop', async () => {
    const engine = await shardIdEngine('kernel');
    const counts = tally(await shortConnections(portOf(engine), CONNECTIONS));
    expect(counts[0]! + counts[1]!).toBe(CONNECTIONS);
    // The kernel hashes each 4-tuple: about half each (binomial sd ~16; 350 is 9 sd away).
    expect(Math.min(...counts)).toBeGreaterThan(350);
    const stats = engine.stats();
    expect(stats.listeners[0]!.accepted).toBe(0);
    expect(stats.total.accepted).toBe(CONNECTIONS);
  });
});
