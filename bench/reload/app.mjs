// The sockshard handler of bench/reload.ts: bench/http's `GET /` (hello world). Plain JavaScript, as
// bench/restart's, so that the built engine's shards load it without tsx, as a user's compiled app is
// loaded; so it names its thread itself, with the line registerThread (bench/lib/cpu.ts) writes.
import { appendFileSync, readlinkSync } from 'node:fs';

export default {
  request(_request, response) {
    response.setHeader('content-type', 'text/plain');
    response.end('hello world\n');
  },
  setup(context) {
    const file = process.env.SOCKSHARD_BENCH_THREADS;
    if (file === undefined || file === '') return;
    appendFileSync(file, `${readlinkSync('/proc/thread-self').split('/').pop()} shard${context.shardId}\n`);
  },
};
