import { once } from 'node:events';
import type { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { fixtureWorker, useTeardown } from '../helpers/sockets.js';
import { echoRoundTrips, payload, seqOf, UdpClient } from '../helpers/udp.js';
import { workerExit } from '../helpers/worker-exit.js';

const defer = useTeardown();

function shard(workerData: unknown): Worker {
  const thread = fixtureWorker('udp-batched-socket-shard.ts', workerData);
  defer(() => thread.terminate());
  return thread;
}

async function portOf(worker: Worker): Promise<number> {
  const [message] = (await once(worker, 'message')) as [{ port: number }];
  return message.port;
}

describe('UdpBatchedSocket in shard threads', () => {
  it('serves in two workers at once (IPv4, IPv6), and each exits by itself once its port is closed', async () => {
    const hosts = ['127.0.0.1', '::1'] as const;
    const shards = hosts.map((host) => shard({ host, stopAfter: 300 }));
    const ports = await Promise.all(shards.map(portOf));
    const reports = shards.map((worker) => once(worker, 'message'));
    for (const worker of shards) worker.postMessage('start');
    const exits = shards.map((worker) => workerExit(worker));
    await Promise.all(
      hosts.map(async (host, i) => {
        const client = await UdpClient.open(host);
        defer(() => client.close());
        await echoRoundTrips(client, ports[i]!, host, 300, (seq) => 4 + (seq % 500), 32);
      }),
    );
    for (const report of await Promise.all(reports)) {
      expect(report[0]).toMatchObject({
        counters: { datagramsIn: 300, datagramsOut: 300, oversized: 0, sendErrors: 0, sendDropped: 0 },
      });
    }
    expect(await Promise.all(exits)).toEqual([0, 0]);
  });

  it('finishes and flushes a batch whose handler threw, then raises the error as uncaught', async () => {
    const worker = shard({ host: '127.0.0.1', stopAfter: 8, throwOn: 2 });
    const port = await portOf(worker);
    const client = await UdpClient.open();
    defer(() => client.close());
    for (let seq = 0; seq < 6; seq++) await client.send(payload(seq, 16), port, '127.0.0.1');
    const uncaught = once(worker, 'message');
    worker.postMessage('start'); // all six wait in the socket: one batch
    expect((await uncaught)[0]).toEqual({ uncaught: 'boom on 2' });
    expect((await client.waitFor(5)).map(seqOf)).toEqual([0, 1, 3, 4, 5]);

    // The port serves on.
    const done = once(worker, 'message');
    const exit = workerExit(worker);
    for (let seq = 6; seq < 9; seq++) await client.send(payload(seq, 16), port, '127.0.0.1');
    expect((await client.waitFor(8)).map(seqOf)).toEqual([0, 1, 3, 4, 5, 6, 7, 8]);
    expect((await done)[0]).toMatchObject({ counters: { datagramsIn: 9, datagramsOut: 8 } });
    expect(await exit).toBe(0);
  });
});
