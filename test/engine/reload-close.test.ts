import { describe, expect, it } from 'vitest';
import { createEngine, type SockshardError } from '../../src/index.js';
import { fixtureHandler, portOf } from '../helpers/engine.js';
import { useTeardown } from '../helpers/sockets.js';

const defer = useTeardown();

describe('engine.reload() and close()', () => {
  it('a close between two shards of a reload ends every worker, the retiring and the replacements alike', async () => {
    const engine = createEngine({ shards: 2 })
      .http({ port: 0, handler: fixtureHandler('slow-http.ts') })
      .udp({ ports: [0], handler: fixtureHandler('udp-echo.ts') });
    await engine.start();
    defer(() => engine.close({ timeoutMs: 200 }));
    // A request in flight on each shard, so that the retiring one has something to drain.
    const inFlight = [0, 1].map(() =>
      fetch(`http://127.0.0.1:${portOf(engine)}/?ms=300`).then(
        (response) => response.status,
        () => 0,
      ),
    );
    const firstReplaced = new Promise((resolve) => engine.once('shard-online', resolve));
    const reloading = engine.reload({ timeoutMs: 1_000 }).then(
      () => 'reloaded',
      (error: SockshardError) => error.code,
    );
    // Shard 0 has a replacement serving and is draining; shard 1's replacement is prepared, not in place.
    await firstReplaced;
    await engine.close({ timeoutMs: 500 });
    expect(await reloading).toMatch(/^(reloaded|ERR_RELOAD)$/);
    expect(await Promise.all(inFlight)).toEqual([200, 200]);
    // The teardown checks that no worker is left: each holds fds of its own event loop.
  });
});
