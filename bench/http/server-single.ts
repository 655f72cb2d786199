/** Baseline: one `node:http` server on one thread, the app served straight from its request listener. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { appFromEnv } from './app.js';
import { runServerChild } from './server-child.js';

runServerChild(async () => {
  const app = appFromEnv();
  let requests = 0;
  let connections = 0;
  let clientErrors = 0;
  const server = http.createServer((request, response) => {
    requests++;
    app(request, response);
  });
  server.on('connection', () => connections++);
  server.on('clientError', (_error, socket) => {
    clientErrors++;
    socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, resolve);
  });
  return {
    port: (server.address() as AddressInfo).port,
    pids: [process.pid],
    counters: () => ({ requests: [requests], connections: [connections], problems: { clientErrors } }),
    stop: async () => {
      const closed = new Promise((resolve) => server.close(resolve));
      server.closeAllConnections();
      await closed;
    },
  };
});
