import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { connect, destroy, readAll, useTeardown } from '../helpers/sockets.js';

const defer = useTeardown();
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FIXTURE = fileURLToPath(new URL('../fixtures/native/emfile-child.ts', import.meta.url));

/** A child with a small fd limit, so that filling its fd table is quick. */
function emfileChild(): ChildProcess {
  const child = spawn(
    '/bin/sh',
    ['-c', 'ulimit -n 256 && exec "$0" --import tsx "$1"', process.execPath, FIXTURE],
    {
      cwd: ROOT,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    },
  );
  defer(() => child.kill());
  return child;
}

describe('accepting when the process is out of fds', () => {
  it('reports -EMFILE once, stays paused without spinning, and resumes on request', async () => {
    const child = emfileChild();
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const [{ port }] = (await once(child, 'message')) as [{ port: number }];
    const report = once(child, 'message');
    const client = await connect(port, '127.0.0.1');
    defer(() => destroy(client));

    const [paused] = (await report) as [Record<string, unknown>];
    expect(paused).toEqual({
      code: 'EMFILE',
      errno: -24,
      message: expect.stringMatching(/^accept4 EMFILE: too many open files \(fd \d+\)$/),
      // uv_poll is level-triggered: had the poll stayed on, every loop turn would have called back.
      callbacksWhilePaused: 0,
      busyWhilePaused: false,
    });
    expect((await readAll(client)).toString()).toBe('accepted after resume');
    expect(await exited).toBe(0);
  });
});
