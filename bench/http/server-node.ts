/**
 * The node:http baselines for bench/http.ts: `server-node.ts '{"workers":0}'` serves on this one thread;
 * `{"workers":N}` is node:cluster, a primary that forks N workers sharing one listening socket with Node's
 * default scheduling (round-robin on Linux: the primary accepts and passes each connection to a worker).
 */
import cluster from 'node:cluster';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { announce } from '../lib/children.js';
import { appFromEnv } from './app.js';

const { workers } = JSON.parse(process.argv[2] ?? '{}') as { workers: number };

if (cluster.isPrimary && workers > 0) {
  const forked = Array.from({ length: workers }, () => cluster.fork());
  const ports = await Promise.all(
    forked.map(
      (worker) =>
        new Promise<number>((resolve) => worker.once('listening', (a: AddressInfo) => resolve(a.port))),
    ),
  );
  let stopping = false;
  cluster.on(
    'exit',
    (worker, code) => stopping || console.error(`[node:cluster] worker ${worker.id} exited (${code})`),
  );
  announce({ port: ports[0]!, pids: [process.pid, ...forked.map((w) => w.process.pid!)] }, () => {
    stopping = true;
    for (const worker of forked) worker.process.kill('SIGKILL');
  });
} else {
  const server = createServer(appFromEnv());
  server.on('clientError', (_error, socket) => socket.destroy());
  // In a cluster worker, every worker listening on port 0 gets the same port from the primary.
  server.listen({ host: '127.0.0.1', port: 0 }, () => {
    if (cluster.isPrimary) {
      announce({ port: (server.address() as AddressInfo).port }, () => {
        server.closeAllConnections();
        server.close();
      });
    }
  });
}
