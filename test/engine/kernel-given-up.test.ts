import { describe, expect, it } from 'vitest';
import { createEngine } from '../../src/index.js';
import { fixtureHandler, portOf, until } from '../helpers/engine.js';
import { useTeardown } from '../helpers/sockets.js';

const defer = useTeardown();

describe("balance 'kernel' past the restart budget", () => {
  it("hands a given-up shard's listening socket to a serving shard: no connection is left unaccepted", async () => {
    const engine = createEngine({ shards: 2, restart: false }).http({
      port: 0,
      handler: fixtureHandler('mortal-http.ts'),
      balance: 'kernel',
    });
    engine.on('error', () => {}); // the death and the give-up are reported: expected here
    await engine.start();
    defer(() => engine.close({ timeoutMs: 200 }));
    const url = `http://127.0.0.1:${portOf(engine)}`;
    const victim = Number(
      (await (await fetch(`${url}/exit`, { headers: { connection: 'close' } })).text()).split(' ')[1],
    );
    await until(() => engine.stats().shards[victim]!.state === 'given-up', 5_000);
    // The kernel still hashes a share of new connections to the dead shard's socket (the coordinator
    // keeps it open): each must be accepted, by the survivor.
    const answers = await Promise.all(
      Array.from({ length: 40 }, async () => {
        const response = await fetch(`${url}/`, {
          headers: { connection: 'close' },
          signal: AbortSignal.timeout(3_000),
        });
        return response.text();
      }),
    );
    expect(new Set(answers)).toEqual(new Set([`shard ${1 - victim}\n`]));
  });
});
