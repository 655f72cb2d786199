/**
 * The node:cluster baseline of bench/reload.ts: `server-cluster.ts '{"workers":2}'`, a primary forking
 * workers (cluster-worker.mjs) that share one listening socket with Node's default scheduling (the primary
 * accepts and passes each connection on); `{"forked": pid, "slot": i}` for every worker forked later.
 * SIGHUP: the restart people write with node:cluster, one worker at a time: `worker.kill()` (the primary
 * closes the worker's IPC channel, then sends it SIGTERM: its open connections end with it), a new worker
 * forked once the old one has exited, the next one once that one listens; then `{"restarted": true}`.
 */
import cluster, { type Worker } from 'node:cluster';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { announce } from '../lib/children.js';

const { workers: count } = JSON.parse(process.argv[2]!) as { readonly workers: number };
// Without tsx: a worker forked during the measurement costs what a compiled app's start costs.
cluster.setupPrimary({ exec: fileURLToPath(new URL('./cluster-worker.mjs', import.meta.url)), execArgv: [] });
const say = (message: object) => console.log(JSON.stringify(message));
let stopping = false;
/** Killed by the restart: their exit is expected (worker.kill() leaves exitedAfterDisconnect false). */
const killed = new WeakSet<Worker>();
/** Forks a worker for `slot` (saying so after the announcement); resolves with it and its port once it listens. */
const fork = async (slot: number, tell: boolean): Promise<[Worker, number]> => {
  const worker = cluster.fork();
  if (tell) say({ forked: worker.process.pid, slot });
  worker.on('exit', (code, signal) => {
    if (!stopping && !killed.has(worker))
      console.error(`[node:cluster] worker ${slot} exited (${code ?? signal})`);
  });
  const [address] = (await once(worker, 'listening')) as [AddressInfo];
  return [worker, address.port];
};
const started = await Promise.all(Array.from({ length: count }, (_, slot) => fork(slot, false)));
const workers = started.map(([worker]) => worker);
process.on('SIGHUP', async () => {
  for (const [slot, old] of workers.entries()) {
    const exited = once(old, 'exit');
    killed.add(old);
    old.kill();
    await exited;
    [workers[slot]] = await fork(slot, true);
  }
  say({ restarted: true });
});
announce({ port: started[0]![1], pids: [process.pid, ...workers.map((w) => w.process.pid!)] }, () => {
  stopping = true;
  for (const worker of workers) worker.process.kill('SIGKILL');
});
