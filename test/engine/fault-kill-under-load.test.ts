import autocannon from 'autocannon';
import { describe, expect, it } from 'vitest';
import { createEngine, type SockshardError } from '../../src/index.js';
import { fixtureHandler, portOf } from '../helpers/engine.js';
import { useTeardown } from '../helpers/sockets.js';

const defer = useTeardown();
const CONNECTIONS = 20;

describe('a shard killed in the middle of a load run', () => {
  it('costs only its own connections; it is back within a second and the engine ends healthy', async () => {
    const engine = createEngine({ shards: 2 }).http({ port: 0, handler: fixtureHandler('mortal-http.ts') });
    const errors: SockshardError[] = [];
    const online: [number, number][] = [];
    engine.on('error', (error) => errors.push(error));
    engine.on('shard-online', (shardId) => online.push([shardId, performance.now()]));
    await engine.start();
    defer(() => engine.close({ timeoutMs: 500 }));
    const url = `http://127.0.0.1:${portOf(engine)}`;
    const run = new Promise<autocannon.Result>((resolve, reject) => {
      // In a worker thread of its own, so that the load does not slow this thread (the coordinator).
      autocannon({ url, connections: CONNECTIONS, duration: 3, timeout: 2, workers: 1 }, (error, result) =>
        error === null ? resolve(result) : reject(error),
      );
    });
    let killedAt = 0;
    const kill = new Promise<void>((resolve) => {
      setTimeout(async () => {
        killedAt = performance.now();
        await fetch(`${url}/exit`, { headers: { connection: 'close' } }).catch(() => {});
        resolve();
      }, 1_000);
    });
    const [result] = await Promise.all([run, kill]);
    const deaths = errors.filter((e) => e.code === 'ERR_SHARD_EXIT');
    expect(deaths).toHaveLength(1);
    const dead = deaths[0]!.shardId!;
    const back = online.find(([shardId, at]) => shardId === dead && at > killedAt);
    expect(back, 'the shard came back').toBeDefined();
    expect(back![1] - killedAt).toBeLessThan(1_000);
    // Only connections open on the killed shard can have failed: at most one request each, plus the
    // reconnects autocannon makes on them.
    const failures = result.errors + result.non2xx;
    expect(failures).toBeLessThanOrEqual(2 * CONNECTIONS);
    expect(result['2xx']).toBeGreaterThan(1_000);
    const stats = engine.stats();
    expect(stats.shards.every((shard) => shard.alive)).toBe(true);
    expect(stats.shards[dead]!.restarts).toBe(1);
    // Still answering.
    expect((await fetch(`${url}/`)).status).toBe(200);
  }, 20_000);
});
