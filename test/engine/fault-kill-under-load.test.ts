import { once } from 'node:events';
import net from 'node:net';
import autocannon from 'autocannon';
import { describe, expect, it } from 'vitest';
import { createEngine, type SockshardError } from '../../src/index.js';
import { fixtureHandler, hangUp, portOf } from '../helpers/engine.js';
import { destroy, useTeardown } from '../helpers/sockets.js';

const defer = useTeardown();
const CONNECTIONS = 20;
const REQUESTS = 20_000;

/** Opens a keep-alive connection, asks once, and resolves with the shard that answered (held open). */
async function servedBy(port: number): Promise<{ shard: number; socket: net.Socket }> {
  const socket = net.connect(port, '127.0.0.1');
  defer(() => destroy(socket));
  socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  const [data] = (await once(socket, 'data')) as [Buffer];
  return { shard: Number(/shard (\d+)\n$/.exec(data.toString())?.[1]), socket };
}

describe('a shard killed in the middle of a load run', () => {
  it('costs only its own connections; the standing-by spare takes its place and the engine ends healthy', async () => {
    const engine = createEngine({ shards: 2 }).http({ port: 0, handler: fixtureHandler('mortal-http.ts') });
    const errors: SockshardError[] = [];
    const online: [number, number][] = [];
    engine.on('error', (error) => errors.push(error));
    engine.on('shard-online', (shardId) => online.push([shardId, performance.now()]));
    await engine.start();
    defer(() => engine.close({ timeoutMs: 500 }));
    // Kill only once the spare stands by: it is what takes the dead shard's place.
    await expect.poll(() => engine.stats().spareStandingBy, { timeout: 10_000 }).toBe(true);
    const port = portOf(engine);
    // A number of requests (autocannon's `amount`; bench/http/autocannon.d.ts types only what the benchmark
    // uses), not a duration: the kill comes when the load is flowing, whenever that is.
    const options: autocannon.Options & { amount: number } = {
      url: `http://127.0.0.1:${port}`,
      connections: CONNECTIONS,
      amount: REQUESTS,
      timeout: 2,
      // In a worker thread of its own, so that the load does not slow this thread (the coordinator).
      workers: 1,
    };
    const run = new Promise<autocannon.Result>((resolve, reject) => {
      autocannon(options, (error, result) => (error === null ? resolve(result) : reject(error)));
    });
    // The load is flowing on both shards: now kill one.
    await expect
      .poll(() => engine.stats().shards.map((shard) => shard.requests), { timeout: 10_000 })
      .toSatisfy((requests: number[]) => requests.every((n) => n >= 200));
    const killedAt = performance.now();
    await fetch(`http://127.0.0.1:${port}/exit`, { headers: { connection: 'close' } }).catch(() => {});
    await expect
      .poll(() => errors.filter((e) => e.code === 'ERR_SHARD_EXIT').length, { timeout: 5_000 })
      .toBe(1);
    const dead = errors[0]!.shardId!;
    const cameBack = () => online.find(([shardId, at]) => shardId === dead && at > killedAt);
    await expect.poll(cameBack, { timeout: 5_000 }).toBeDefined();
    // How fast that is, is bench:restart's to measure; here, that it was the spare (no cold start).
    expect(engine.stats().shards[dead]).toMatchObject({ restarts: 1, restartsFromSpare: 1 });
    // The replacement serves: of two connections held open at once, least-connections gives it at least
    // one (both, while the load's connections, remade on the other shard, are still open).
    const pair = [await servedBy(port), await servedBy(port)];
    expect(pair.map(({ shard }) => shard)).toContain(dead);
    await Promise.all(pair.map(({ socket }) => hangUp(socket)));
    const result = await run;
    const stats = engine.stats();
    // Only the connections open on the killed shard could fail, each at most once (a closed-loop client
    // has one request in flight per connection; its reconnect goes to a live shard).
    const lost = stats.shards[dead]!.connectionsLost;
    expect(lost).toBeGreaterThan(0);
    expect(lost).toBeLessThanOrEqual(CONNECTIONS / 2 + 2);
    expect(result.errors + result.non2xx).toBeLessThanOrEqual(lost);
    expect(result['2xx']).toBeGreaterThanOrEqual(REQUESTS - lost);
    expect(stats.shards.every((shard) => shard.alive)).toBe(true);
    expect(stats.shards[dead]!.restarts).toBe(1);
    expect(errors.map((e) => e.code)).toEqual(['ERR_SHARD_EXIT']);
  }, 30_000);
});
