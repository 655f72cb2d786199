import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { createEngine, type Engine, type SockshardError } from '../../src/index.js';
import { fixtureHandler, portOf } from '../helpers/engine.js';
import { requirement, testWith } from '../helpers/requirements.js';
import { UdpEchoLoad } from '../helpers/udp-echo-load.js';
import { failures, startWrk, type WrkResult, type WrkRun } from '../helpers/wrk.js';

const wrk = await requirement('wrk');
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A handler module in a directory of its own, rewritten by the test: what a deploy changes on disk. */
function handlerFile(): { url: URL; write(source: string): void } {
  const dir = mkdtempSync(join(tmpdir(), 'sockshard-reload-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'handler.mjs');
  return { url: pathToFileURL(path), write: (source) => writeFileSync(path, source) };
}

const answering = (text: string) =>
  `export default { request(request, response) { response.end(${JSON.stringify(`${text}\n`)}); } };\n`;
/** The same for the fast HTTP path, whose handlers return their response. */
const answeringFast = (text: string) =>
  `export default { api: 'fast', request() { return ${JSON.stringify(`${text}\n`)}; } };\n`;

/** A two-shard engine serving `handler` on an acceptor and a 'kernel' listener, and UDP echo. */
async function engineWith(handler: URL, options: { handleSignals?: boolean; api?: 'node' | 'fast' } = {}) {
  const { api = 'node', ...engineOptions } = options;
  const engine = createEngine({ shards: 2, health: { port: 0 }, ...engineOptions })
    .http({ port: 0, handler, api })
    .http({ port: 0, handler, api, balance: 'kernel' })
    .udp({ ports: [0], handler: fixtureHandler('udp-echo.ts') });
  const errors: SockshardError[] = [];
  engine.on('error', (error) => errors.push(error));
  await engine.start();
  cleanups.push(() => engine.close({ timeoutMs: 500 }));
  return { engine, errors };
}

/** Keep-alive and churn on the acceptor listener, churn on the 'kernel' one, and UDP echo, until stopped. */
async function underLoad(engine: Engine) {
  const [acceptor, kernel] = [portOf(engine, 0), portOf(engine, 1)];
  const http: WrkRun[] = [
    startWrk(`http://127.0.0.1:${acceptor}/`, { connections: 8 }),
    startWrk(`http://127.0.0.1:${acceptor}/`, { connections: 4, churn: true }),
    startWrk(`http://127.0.0.1:${kernel}/`, { connections: 4, churn: true }),
  ];
  const udp = await UdpEchoLoad.start(engine.udpPorts()[0]!.port, 2);
  let stopped = false;
  const stop = async () => {
    stopped = true;
    const results = await Promise.all(http.map((run) => run.stop()));
    return { results, udp: await udp.stop() };
  };
  cleanups.push(() => (stopped ? undefined : stop()));
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  return { stop };
}

/** Each shard's generation, and whether it serves. */
const generations = (engine: Engine) => engine.stats().shards.map((shard) => [shard.generation, shard.alive]);

function expectNoFailures(results: readonly WrkResult[]): void {
  for (const result of results) {
    expect(failures(result)).toEqual({ connect: 0, read: 0, write: 0, status: 0, timeout: 0 });
  }
}

describe('engine.reload()', () => {
  testWith(wrk)(
    'replaces the shards one at a time with the code now on disk, under load: no failed request, no refused connection, no datagram lost',
    async () => {
      const file = handlerFile();
      file.write(answering('v1'));
      const { engine, errors } = await engineWith(file.url);
      expect(generations(engine)).toEqual([
        [0, true],
        [0, true],
      ]);
      const load = await underLoad(engine);
      file.write(answering('v2'));
      const reloaded = engine.reload({ timeoutMs: 2_000 });
      expect(engine.health()).toMatchObject({ status: 'draining', reason: 'reloading' });
      await reloaded;
      expect(engine.health()).toMatchObject({ status: 'ready' });
      expect(generations(engine)).toEqual([
        [1, true],
        [1, true],
      ]);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const { results, udp } = await load.stop();
      expectNoFailures(results);
      for (const result of results) {
        expect(Object.keys(result.bodies).sort()).toEqual(['v1', 'v2']);
        expect(result.bodies.v2).toBeGreaterThan(20);
      }
      expect(udp.lost).toBe(0);
      for (const port of [portOf(engine, 0), portOf(engine, 1)]) {
        const bodies = await Promise.all(
          Array.from({ length: 6 }, async () => (await fetch(`http://127.0.0.1:${port}/`)).text()),
        );
        expect(new Set(bodies)).toEqual(new Set(['v2\n']));
      }
      expect(errors).toEqual([]);
    },
    60_000,
  );

  testWith(wrk)(
    "the fast HTTP path's shards too: no failed request, no refused connection",
    async () => {
      const file = handlerFile();
      file.write(answeringFast('v1'));
      const { engine, errors } = await engineWith(file.url, { api: 'fast' });
      const load = await underLoad(engine);
      file.write(answeringFast('v2'));
      await engine.reload({ timeoutMs: 2_000 });
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const { results, udp } = await load.stop();
      expectNoFailures(results);
      for (const result of results) expect(Object.keys(result.bodies).sort()).toEqual(['v1', 'v2']);
      expect(udp.lost).toBe(0);
      expect(errors).toEqual([]);
    },
    60_000,
  );

  testWith(wrk)(
    'rolls back a reload whose new handler throws at import: the old code serves on, under load, and the error is emitted',
    async () => {
      const file = handlerFile();
      file.write(answering('v1'));
      const { engine, errors } = await engineWith(file.url);
      const load = await underLoad(engine);
      file.write("throw new Error('a broken deploy');\n");
      const failed = await engine.reload({ timeoutMs: 2_000 }).catch((error: SockshardError) => error);
      expect(failed).toMatchObject({
        code: 'ERR_RELOAD',
        cause: expect.objectContaining({ code: 'ERR_HANDLER_LOAD' }),
      });
      expect((failed as Error).message).toContain('a broken deploy');
      expect(errors).toEqual([failed]);
      expect(engine.health()).toMatchObject({ status: 'ready' });
      expect(generations(engine)).toEqual([
        [0, true],
        [0, true],
      ]);
      await new Promise((resolve) => setTimeout(resolve, 500));
      const { results, udp } = await load.stop();
      expectNoFailures(results);
      for (const result of results) expect(Object.keys(result.bodies)).toEqual(['v1']);
      expect(udp.lost).toBe(0);
      // Fixed on disk, the next reload goes through.
      file.write(answering('v3'));
      await engine.reload({ timeoutMs: 500 });
      expect(await (await fetch(`http://127.0.0.1:${portOf(engine)}/`)).text()).toBe('v3\n');
      expect(generations(engine)).toEqual([
        [1, true],
        [1, true],
      ]);
    },
    60_000,
  );

  it('takes new handler modules by listener id, and a dead shard restarts with the new code', async () => {
    const engine = createEngine({ shards: 2 })
      .http({ port: 0, handler: fixtureHandler('version-http.ts?v=1') })
      .http({ port: 0, handler: fixtureHandler('mortal-http.ts') });
    engine.on('error', () => {}); // the killed shard is reported: expected here
    await engine.start();
    cleanups.push(() => engine.close({ timeoutMs: 200 }));
    await engine.reload({ handlers: { 0: fixtureHandler('version-http.ts?v=2') } });
    const url = `http://127.0.0.1:${portOf(engine)}/`;
    expect(await (await fetch(url)).text()).toBe('v2\n');
    // A shard that dies after the reload comes back with the new code (its spare imported it).
    const online = new Promise((resolve) => engine.once('shard-online', resolve));
    await fetch(`http://127.0.0.1:${portOf(engine, 1)}/exit`, { headers: { connection: 'close' } });
    await online;
    const bodies = await Promise.all(Array.from({ length: 6 }, async () => (await fetch(url)).text()));
    expect(new Set(bodies)).toEqual(new Set(['v2\n']));
  });

  it('reloads on SIGHUP where handleSignals is on', async () => {
    const file = handlerFile();
    file.write(answering('v1'));
    const { engine } = await engineWith(file.url, { handleSignals: true });
    file.write(answering('v2'));
    const reloaded = new Promise((resolve) => engine.once('reloaded', resolve));
    process.kill(process.pid, 'SIGHUP');
    expect(await reloaded).toBe(1);
    expect(await (await fetch(`http://127.0.0.1:${portOf(engine)}/`)).text()).toBe('v2\n');
  });

  it('refuses what it cannot do, with typed errors', async () => {
    const idle = createEngine({ shards: 1 }).http({ port: 0, handler: fixtureHandler('hello-http.ts') });
    await expect(idle.reload()).rejects.toMatchObject({ code: 'ERR_ENGINE_STATE' });
    await idle.start();
    cleanups.push(() => idle.close({ timeoutMs: 200 }));
    await expect(idle.reload({ handlers: { 7: fixtureHandler('hello-http.ts') } })).rejects.toMatchObject({
      code: 'ERR_INVALID_OPTION',
      option: 'handlers',
    });
    await expect(idle.reload({ timeoutMs: -1 })).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' });
    const first = idle.reload();
    await expect(idle.reload()).rejects.toMatchObject({ code: 'ERR_ENGINE_STATE' });
    await first;
  });
});
