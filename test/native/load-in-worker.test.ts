import { once } from 'node:events';
import type { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { close, listen, startAccepting, stopAccepting } from '../../src/native/binding.js';
import { Gate } from '../helpers/gate.js';
import { connect, destroy, fixtureWorker, readAll, useTeardown } from '../helpers/sockets.js';

const defer = useTeardown();

function worker(name: string, workerData: unknown): Worker {
  const thread = fixtureWorker(name, workerData);
  defer(() => thread.terminate());
  return thread;
}

async function echo(port: number, text: string): Promise<string> {
  const client = await connect(port, '127.0.0.1');
  defer(() => destroy(client));
  client.end(text);
  return (await readAll(client)).toString();
}

describe('the addon in worker threads', () => {
  it('loads in several workers at once, accepts in each, and lets each exit once it stops', async () => {
    const shards = [0, 1, 2].map(() => worker('echo-shard.ts', { connections: 2 }));
    const ports = await Promise.all(shards.map(async (shard) => (await once(shard, 'message'))[0] as number));
    const exits = shards.map((shard) => once(shard, 'exit'));
    const replies = await Promise.all(
      ports.flatMap((port) => [echo(port, `a${port}`), echo(port, `b${port}`)]),
    );
    expect(replies).toEqual(ports.flatMap((port) => [`a${port}`, `b${port}`]));
    expect((await Promise.all(exits)).map(([code]) => code)).toEqual([0, 0, 0]);
  });

  it('cleans up a running poll when the worker is terminated, leaving the fd to its owner', async () => {
    const { fd, port } = listen({ host: '127.0.0.1', port: 0 });
    defer(() => close(fd));
    const shard = worker('accept-on-fd.ts', { fd, mode: 'idle', handle: false });
    await once(shard, 'message');
    expect(await shard.terminate()).toBe(1);

    // The listening fd still works: this thread accepts what arrives after the worker is gone.
    const out = new Int32Array(2);
    const accepted = new Promise<number>((resolve) => {
      const handle = startAccepting(fd, out, (count) => {
        stopAccepting(handle);
        close(out[0]!);
        resolve(count);
      });
      defer(() => stopAccepting(handle));
    });
    const client = await connect(port, '127.0.0.1');
    defer(() => destroy(client));
    expect(await accepted).toBe(1);
  });

  it('accepts nothing once its thread is exiting: what it could no longer hand on stays in the backlog', async () => {
    const { fd, port } = listen({ host: '127.0.0.1', port: 0 });
    defer(() => close(fd));
    const death = new Gate();
    const shard = worker('accept-on-fd.ts', { fd, mode: 'dies', handle: false, gate: death.words });
    await once(shard, 'message');
    const exited = once(shard, 'exit');
    defer(await connect(port, '127.0.0.1').then((first) => () => destroy(first)));
    await death.reached(); // dying: it holds its thread until the gate opens
    const clients = await Promise.all(Array.from({ length: 5 }, () => connect(port, '127.0.0.1')));
    for (const client of clients) defer(() => destroy(client));
    death.open(); // every client is in the backlog: now it exits, with the poll still on
    expect((await exited)[0]).toBe(0);

    const out = new Int32Array(2);
    let accepted = 0;
    const handle = startAccepting(fd, out, (count) => {
      accepted += count;
      close(out[0]!);
    });
    defer(() => stopAccepting(handle));
    await expect.poll(() => accepted, { timeout: 2_000 }).toBe(5);
  });
});
