import { afterEach, describe, expect } from 'vitest';
import { startBackend } from '../../examples/haproxy/backend.js';
import type { Engine } from '../../src/index.js';
import { type RunningHaproxy, startHaproxy } from '../helpers/haproxy.js';
import { requirement, testWith } from '../helpers/requirements.js';
import { failures, startWrk, type WrkRun } from '../helpers/wrk.js';

const haproxy = await requirement('haproxy');
const wrk = await requirement('wrk');
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});

async function backend(name: string): Promise<Engine> {
  const engine = await startBackend({ port: 0, healthPort: 0, shards: 1, name, drainDelayMs: 500 });
  cleanups.push(() => engine.close({ timeoutMs: 500 }));
  return engine;
}

const address = (engine: Engine) => ({ port: engine.addresses()[0]!.port, healthPort: engine.healthPort()! });

describe('examples/haproxy: HAProxy in front of two engines', () => {
  testWith(haproxy, wrk)(
    'one engine closes under load through HAProxy: no failed request at the client, and none HAProxy had to retry',
    async () => {
      const a = await backend('a');
      const b = await backend('b');
      const proxy: RunningHaproxy = await startHaproxy(address(a), address(b));
      cleanups.push(() => proxy.stop());
      const url = `http://127.0.0.1:${proxy.port}/`;
      const loads: WrkRun[] = [
        startWrk(url, { connections: 8 }),
        startWrk(url, { connections: 4, churn: true }),
      ];
      cleanups.push(() => Promise.all(loads.map((load) => load.stop())));
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const closed = a.close({ timeoutMs: 2_000 });
      // The health check says draining before anything is refused; HAProxy takes a out of rotation.
      expect(a.health().status).toBe('draining');
      await closed;
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const results = await Promise.all(loads.splice(0).map((load) => load.stop()));
      for (const result of results) {
        expect(failures(result)).toEqual({ connect: 0, read: 0, write: 0, status: 0, timeout: 0 });
        expect(result.bodies['a shard 0']).toBeGreaterThan(0);
        expect(result.bodies['b shard 0']).toBeGreaterThan(0);
      }
      const servers = await proxy.servers();
      // HAProxy saw a go down by its health check, and never met a refused connection or a failed response
      // that it had to retry or redispatch: the clean path, not the safety net.
      expect(
        servers.map(({ name, status, econ, eresp, wretr, wredis }) => ({
          name,
          status,
          econ,
          eresp,
          wretr,
          wredis,
        })),
      ).toEqual([
        { name: 'a', status: 'DOWN', econ: 0, eresp: 0, wretr: 0, wredis: 0 },
        { name: 'b', status: 'UP', econ: 0, eresp: 0, wretr: 0, wredis: 0 },
      ]);
      expect(servers[0]!.chkdown).toBe(1);
    },
    60_000,
  );
});
