/**
 * Entry point of a shard worker: everything it needs arrives as `workerData` (see `ShardInit`), or, for a
 * spare (see `SpareInit`), in the `become` message it waits for after importing its handler modules.
 */
import { once } from 'node:events';
import { parentPort, workerData } from 'node:worker_threads';
import type { BecomeShard, ShardInit, ShardMessage, SpareInit } from '../protocol.js';
import { prepareImport } from '../typescript-modules.js';
import { Shard } from './shard.js';

async function standBy({ preload }: SpareInit): Promise<ShardInit> {
  const port = parentPort!;
  const become = once(port, 'message') as Promise<[BecomeShard]>;
  // A module that fails here fails again, with a proper report, when the shard loads it for real.
  await Promise.allSettled(
    preload.map(async (module) => {
      await prepareImport(module);
      return import(module);
    }),
  );
  port.postMessage({ type: 'standing-by' } satisfies ShardMessage);
  const [message] = await become;
  return message.init;
}

const data = workerData as ShardInit | SpareInit;
await new Shard('preload' in data ? await standBy(data) : data).run();
