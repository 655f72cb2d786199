/** Entry point of a shard worker: everything it needs arrives as `workerData` (see `ShardInit`). */
import { workerData } from 'node:worker_threads';
import type { ShardInit } from '../protocol.js';
import { Shard } from './shard.js';

await new Shard(workerData as ShardInit).run();
