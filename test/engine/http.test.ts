import { describe, expect, it } from 'vitest';
import { createEngine } from '../../src/index.js';
import { fixtureHandler, portOf } from '../helpers/engine.js';
import { useTeardown } from '../helpers/sockets.js';

const defer = useTeardown();

describe.each([
  ['IPv4', '127.0.0.1', '127.0.0.1'],
  ['IPv6', '::1', '[::1]'],
])('HTTP over %s', (_family, host, urlHost) => {
  it('serves node:http handlers in every shard', async () => {
    const engine = createEngine({ shards: 2 }).http({
      host,
      port: 0,
      handler: fixtureHandler('hello-http.ts'),
      balance: 'round-robin',
    });
    await engine.start();
    defer(() => engine.close({ timeoutMs: 500 }));
    const shards = new Set<string>();
    for (let i = 0; i < 6; i++) {
      // A new connection per request, so that round-robin shows both shards.
      const response = await fetch(`http://${urlHost}:${portOf(engine)}/r${i}`, {
        headers: { connection: 'close' },
      });
      expect(response.status).toBe(200);
      const shard = response.headers.get('x-shard')!;
      expect(await response.text()).toBe(`hello from shard ${shard} /r${i}\n`);
      shards.add(shard);
    }
    expect([...shards].sort()).toEqual(['0', '1']);
    expect(engine.stats().total.requests).toBe(6);
  });
});
