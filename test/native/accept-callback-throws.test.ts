import { once } from 'node:events';
import type { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { close, listen } from '../../src/native/binding.js';
import { connect, destroy, fixtureWorker, readAll, useTeardown } from '../helpers/sockets.js';

const defer = useTeardown();

/*
 * A throwing callback must behave like a throwing net.Server 'connection' listener: an uncaught exception
 * in the thread that polls. These run in workers because in this thread vitest would catch it and fail
 * the run.
 */
function acceptingWorker(handle: boolean): { port: number; worker: Worker } {
  const { fd, port } = listen({ host: '127.0.0.1', port: 0 });
  defer(() => close(fd));
  const worker = fixtureWorker('accept-on-fd.ts', { fd, mode: 'throw', handle });
  defer(() => worker.terminate());
  return { port, worker };
}

describe('an accept callback that throws', () => {
  it('raises an uncaught exception; if a handler keeps the thread alive, accepting goes on', async () => {
    const { port, worker } = acceptingWorker(true);
    expect((await once(worker, 'message'))[0]).toBe('ready');
    const uncaught = once(worker, 'message');
    const first = await connect(port, '127.0.0.1');
    defer(() => destroy(first));
    expect((await uncaught)[0]).toEqual({ uncaught: 'boom from accept callback (1)' });

    const second = await connect(port, '127.0.0.1');
    defer(() => destroy(second));
    second.end('still accepting');
    expect((await readAll(second)).toString()).toBe('still accepting');
  });

  it('without a handler, ends the worker with that error, and closes what it accepts while dying', async () => {
    const { fd, port } = listen({ host: '127.0.0.1', port: 0 });
    defer(() => close(fd));
    // Queued before the worker polls, so its first round accepts all three in batches of one: the first
    // throws, and the next ones find a terminating thread that can no longer take them (no fd may leak).
    for (let i = 0; i < 3; i++) {
      const client = await connect(port, '127.0.0.1');
      defer(() => destroy(client));
    }
    const worker = fixtureWorker('accept-on-fd.ts', { fd, mode: 'throw', handle: false });
    defer(() => worker.terminate());
    const failed = once(worker, 'error');
    // Not events.once: it would reject on the 'error' event this test waits for.
    const exited = new Promise<number>((resolve) => worker.once('exit', resolve));
    const [error] = (await failed) as [Error];
    expect(error.message).toBe('boom from accept callback (1)');
    expect(await exited).toBe(1);
  });
});
