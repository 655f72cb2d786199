import { describe, expect, it } from 'vitest';
import { createEngine } from '../../src/index.js';
import { fixtureHandler, portOf } from '../helpers/engine.js';
import { shareGate } from '../helpers/gate.js';
import { useTeardown } from '../helpers/sockets.js';

const defer = useTeardown();
const task = new URL('../fixtures/offload/task.ts', import.meta.url);

async function offloadEngine(withPool = true, niceIncrement?: number) {
  const engine = createEngine({
    shards: 1,
    ...(withPool
      ? { offload: { module: task, threads: 1, ...(niceIncrement === undefined ? {} : { niceIncrement }) } }
      : {}),
  }).http({ port: 0, handler: fixtureHandler('offload-http.ts') });
  await engine.start();
  defer(() => engine.close({ timeoutMs: 500 }));
  const base = `http://127.0.0.1:${portOf(engine)}`;
  const get = async (path: string) => {
    const response = await fetch(`${base}${path}`, { headers: { connection: 'close' } });
    return [response.status, await response.json()] as const;
  };
  return { engine, get };
}

describe('context.offload()', () => {
  it('runs the task in the pool while the shard keeps serving', async () => {
    const { gate, name, unshare } = shareGate();
    defer(unshare);
    const { get } = await offloadEngine();
    const finished: string[] = [];
    const heavy = get(`/hold?gate=${name}`).then((r) => {
      finished.push('heavy');
      return r;
    });
    // The task now holds a thread. One shard: were the task run inline, that thread would be the shard's,
    // and the light request would wait until the hold gave up.
    await gate.reached();
    const light = await get('/light');
    finished.push('light');
    gate.open();
    expect(light).toEqual([200, { light: true }]);
    const [status, body] = (await heavy) as [
      number,
      { opened: boolean; threadId: number; shardThreadId: number },
    ];
    expect(status).toBe(200);
    expect(body.opened).toBe(true);
    expect(body.threadId).not.toBe(body.shardThreadId);
    expect(finished).toEqual(['light', 'heavy']);
  });

  it('turns a throwing task into ERR_OFFLOAD and a slow one into ERR_OFFLOAD_TIMEOUT', async () => {
    const { get } = await offloadEngine();
    expect(await get('/fail')).toEqual([
      500,
      { code: 'ERR_OFFLOAD', message: expect.stringContaining('on purpose') },
    ]);
    expect(await get('/slow?timeout=50')).toEqual([
      500,
      { code: 'ERR_OFFLOAD_TIMEOUT', message: expect.any(String) },
    ]);
    // The pool survives both.
    expect(await get('/burn?ms=1')).toEqual([200, { burned: 1, spins: true }]);
  });

  it('runs the pool threads nicer than the shard (5 by default), so the event loop gets the CPU first', async () => {
    for (const [increment, option] of [
      [5, undefined],
      [12, 12],
    ] as const) {
      const [, body] = await (await offloadEngine(true, option)).get('/priority');
      const { pool, shard } = body as { pool: number; shard: number };
      expect(pool).toBe(Math.min(19, shard + increment));
    }
  });

  it('moves transferables instead of copying them', async () => {
    const { get } = await offloadEngine();
    expect(await get('/transfer')).toEqual([200, { length: 4096, detachedHere: true }]);
  });

  it('rejects with ERR_OFFLOAD_UNAVAILABLE without an offload pool', async () => {
    const { get } = await offloadEngine(false);
    expect(await get('/burn?ms=1')).toEqual([
      500,
      { code: 'ERR_OFFLOAD_UNAVAILABLE', message: expect.any(String) },
    ]);
  });
});
