import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { connect, destroy, useTeardown } from '../helpers/sockets.js';

const defer = useTeardown();
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FIXTURE = fileURLToPath(new URL('../fixtures/engine-emfile.ts', import.meta.url));

/** The fixture in a child with a small fd limit, so that filling its fd table is quick. */
function emfileChild(): ChildProcess {
  const child = spawn(
    '/bin/sh',
    ['-c', 'ulimit -n 512 && exec "$0" --import tsx "$1"', process.execPath, FIXTURE],
    { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
  );
  defer(() => child.kill());
  return child;
}

describe('an engine out of fds', () => {
  it('reports an EMFILE storm once and counts every failure; the waiting connection is served after', async () => {
    const child = emfileChild();
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const [{ port }] = (await once(child, 'message')) as [{ port: number }];
    const report = once(child, 'message');
    const client = await connect(port, '127.0.0.1');
    defer(() => destroy(client));

    const [storm] = (await report) as [{ events: unknown[]; acceptErrors: number }];
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
