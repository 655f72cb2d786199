/**
 * Baseline: `node:cluster`, a primary that forks `--workers N` processes sharing one listening socket. The
 * scheduling policy is left at Node's default (round-robin on Linux: the primary accepts and passes each
 * connection to a worker). Every worker listens on port 0: in a cluster, all workers get the same port.
 */
import cluster, { type Worker } from 'node:cluster';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { countingServer } from './app.js';
import { runServerChild } from './server-child.js';

interface WorkerCounters {
  readonly type: 'counters';
  readonly requests: number;
  readonly connections: number;
  readonly clientErrors: number;
}

const COUNTERS_TIMEOUT_MS = 5_000;

/** The primary's arguments (workers are forked with the same argv but never read it). */
function workerCount(): number {
  return Number(parseArgs({ options: { workers: { type: 'string' } }, strict: true }).values.workers);
}

function serveWorker(): void {
  const { server, counters } = countingServer();
  process.on('message', (message: { type?: string }) => {
    if (message.type !== 'counters') return;
    const reply: WorkerCounters = { type: 'counters', ...counters() };
    process.send!(reply);
  });
  server.listen({ host: '127.0.0.1', port: 0 });
}

function askCounters(worker: Worker): Promise<WorkerCounters> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`worker ${worker.id}: no counters`)),
      COUNTERS_TIMEOUT_MS,
    );
    const onMessage = (message: WorkerCounters) => {
      if (message.type !== 'counters') return;
      clearTimeout(timer);
      worker.off('message', onMessage);
      resolve(message);
    };
    worker.on('message', onMessage);
    worker.send({ type: 'counters' });
  });
}

if (cluster.isPrimary) {
  runServerChild(async () => {
    const count = workerCount();
    let unexpectedExits = 0;
    let stopping = false;
    const workers: Worker[] = [];
    const ports = await Promise.all(
      Array.from({ length: count }, () => {
        const worker = cluster.fork();
        workers.push(worker);
        worker.on('exit', (code, signal) => {
          if (stopping) return;
          unexpectedExits++;
          console.error(`[node:cluster] worker ${worker.id} exited (${signal ?? code})`);
        });
        return new Promise<number>((resolve, reject) => {
          worker.once('listening', (address: AddressInfo) => resolve(address.port));
          worker.once('exit', () => reject(new Error(`worker ${worker.id} exited before listening`)));
        });
      }),
    );
    if (new Set(ports).size !== 1) throw new Error(`cluster workers listen on different ports: ${ports}`);
    return {
      port: ports[0]!,
      pids: [process.pid, ...workers.map((worker) => worker.process.pid!)],
      counters: async () => {
        const all = await Promise.all(workers.map(askCounters));
        return {
          requests: all.map((worker) => worker.requests),
          connections: all.map((worker) => worker.connections),
          problems: {
            clientErrors: all.reduce((sum, worker) => sum + worker.clientErrors, 0),
            unexpectedExits,
          },
        };
      },
      stop: async () => {
        stopping = true;
        await Promise.all(
          workers.map((worker) => {
            const exited = new Promise((resolve) => worker.once('exit', resolve));
            worker.process.kill('SIGKILL');
            return exited;
          }),
        );
      },
    };
  });
} else {
  serveWorker();
}
