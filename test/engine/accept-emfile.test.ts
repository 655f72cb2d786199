import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { clientOfFdStarvedChild } from '../helpers/fd-table.js';
import { useTeardown } from '../helpers/sockets.js';

const defer = useTeardown();
const FIXTURE = fileURLToPath(new URL('../fixtures/engine-emfile.ts', import.meta.url));

describe('an engine out of fds', () => {
  it('reports an EMFILE storm once and counts every failure; the waiting connection is served after', async () => {
    const { client, report, exited, child } = await clientOfFdStarvedChild(FIXTURE, 512, defer);

    const storm = (await report) as { events: unknown[]; acceptErrors: number };
    // 20 failed accepts (one per 100 ms pause) in about 2 s: one event, not twenty.
    expect(storm.acceptErrors).toBeGreaterThanOrEqual(20);
    expect(storm.events).toEqual([{ code: 'EMFILE', syscall: 'accept4' }]);
    client.setEncoding('utf8');
    const [shard] = (await once(client, 'data')) as [string];
    expect(shard).toBe('0\n');
    child.send('close');
    expect(await exited).toBe(0);
  });
});
