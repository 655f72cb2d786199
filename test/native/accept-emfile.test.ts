import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { clientOfFdStarvedChild } from '../helpers/fd-table.js';
import { readAll, useTeardown } from '../helpers/sockets.js';

const defer = useTeardown();
const FIXTURE = fileURLToPath(new URL('../fixtures/native/emfile-child.ts', import.meta.url));

describe('accepting when the process is out of fds', () => {
  it('reports -EMFILE once, stays paused without spinning, and resumes on request', async () => {
    const { client, report, exited } = await clientOfFdStarvedChild(FIXTURE, 256, defer);

    const paused = (await report) as Record<string, unknown>;
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
