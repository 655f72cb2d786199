/**
 * The node:http baselines for bench/http.ts: `server-node.ts '{"workers":0}'` serves on this one thread;
 * `{"workers":N}` is node:cluster with N workers (bench/lib/node-server.ts).
 */
import { createServer } from 'node:http';
import { serveNode } from '../lib/node-server.js';
import { appFromEnv } from './app.js';

const { workers } = JSON.parse(process.argv[2] ?? '{}') as { workers: number };

await serveNode(
  workers,
  () => createServer(appFromEnv()).on('clientError', (_error, socket) => socket.destroy()),
  (server) => {
    server.closeAllConnections();
    server.close();
  },
);
