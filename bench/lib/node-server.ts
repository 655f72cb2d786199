/**
 * The Node baselines' common shape: `workers` 0 serves on this one thread; N is node:cluster, a primary
 * that forks N workers sharing one listening socket with Node's default scheduling (round-robin on Linux:
 * the primary accepts and passes each connection to a worker). Either way the server listens on
 * 127.0.0.1, a free port, and announces itself (children.ts) when it serves.
 */
import cluster from 'node:cluster';
import type { AddressInfo, Server } from 'node:net';
import { announce } from './children.js';

export async function serveNode<T extends Server>(
  workers: number,
  makeServer: () => T,
  close: (server: T) => void,
): Promise<void> {
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
    return;
  }
  const server = makeServer();
  // In a cluster worker, every worker listening on port 0 gets the same port from the primary.
  server.listen({ host: '127.0.0.1', port: 0 }, () => {
    if (cluster.isPrimary) announce({ port: (server.address() as AddressInfo).port }, () => close(server));
  });
}
