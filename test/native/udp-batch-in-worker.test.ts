import { once } from 'node:events';
import type { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { close, startUdpBatch, stopUdpBatch, udpBatchSizes, udpSocket } from '../../src/native/binding.js';
import { Gate } from '../helpers/gate.js';
import { fixtureWorker, useTeardown } from '../helpers/sockets.js';
import { echoRoundTrips, payload, UdpClient } from '../helpers/udp.js';
import { workerExit } from '../helpers/worker-exit.js';

const defer = useTeardown();

function worker(name: string, workerData: unknown): Worker {
  const thread = fixtureWorker(name, workerData);
  defer(() => thread.terminate());
  return thread;
}

describe('the UDP batch path in worker threads', () => {
  it('echoes in several workers at once, each on its own loop, and lets each exit once it stops', async () => {
    const hosts = ['127.0.0.1', '::1', '127.0.0.1'] as const;
    const shards = hosts.map((host) => worker('udp-batch-shard.ts', { datagrams: 200, host }));
    const ports = await Promise.all(shards.map(async (shard) => (await once(shard, 'message'))[0] as number));
    const exits = shards.map((shard) => workerExit(shard));
    await Promise.all(
      hosts.map(async (host, i) => {
        const client = await UdpClient.open(host);
        defer(() => client.close());
        await echoRoundTrips(client, ports[i]!, host, 200, (seq) => 4 + ((seq * 13) % 1000), 32);
      }),
    );
    expect(await Promise.all(exits)).toEqual([0, 0, 0]);
  });

  it('cleans up a running poll when the worker is terminated, leaving the fd to its owner', async () => {
    const { fd, port } = udpSocket({ host: '127.0.0.1', port: 0 });
    defer(() => close(fd));
    const shard = worker('udp-batch-on-fd.ts', { fd, mode: 'idle' });
    await once(shard, 'message');
    expect(await shard.terminate()).toBe(1);

    // The fd still works: this thread receives what arrives after the worker is gone.
    const { slabBytes, metaLength } = udpBatchSizes(64, 4);
    const slab = new Uint8Array(new SharedArrayBuffer(slabBytes));
    const meta = new Int32Array(new SharedArrayBuffer(metaLength * Int32Array.BYTES_PER_ELEMENT));
    const received = new Promise<number>((resolve) => {
      const handle = startUdpBatch(fd, slab, meta, 64, 4, (count) => {
        stopUdpBatch(handle);
        resolve(count);
      });
      defer(() => stopUdpBatch(handle));
    });
    const client = await UdpClient.open();
    defer(() => client.close());
    await client.send(payload(1, 16), port, '127.0.0.1');
    expect(await received).toBe(1);
  });

  it('takes nothing out of the socket once its thread is exiting: what it can no longer deliver stays queued', async () => {
    const { fd, port } = udpSocket({ host: '127.0.0.1', port: 0 });
    defer(() => close(fd));
    const death = new Gate();
    const shard = worker('udp-batch-on-fd.ts', { fd, mode: 'dies', gate: death.words });
    await once(shard, 'message');
    const client = await UdpClient.open();
    defer(() => client.close());
    const exited = workerExit(shard);
    await client.send(payload(0, 16), port, '127.0.0.1');
    await death.reached(); // dying: it holds its thread until the gate opens
    for (let seq = 1; seq <= 20; seq++) await client.send(payload(seq, 16), port, '127.0.0.1');
    death.open(); // all 20 are queued in the socket: now it exits, with the poll still on
    expect(await exited).toBe(0);

    const { slabBytes, metaLength } = udpBatchSizes(64, 4);
    const slab = new Uint8Array(new SharedArrayBuffer(slabBytes));
    const meta = new Int32Array(new SharedArrayBuffer(metaLength * Int32Array.BYTES_PER_ELEMENT));
    let left = 0;
    const handle = startUdpBatch(fd, slab, meta, 64, 4, (count) => {
      left += count;
    });
    defer(() => stopUdpBatch(handle));
    await expect.poll(() => left, { timeout: 2_000 }).toBe(20);
  });
});
