/** Baseline: one `node:http` server on one thread, the app served straight from its request listener. */
import type { AddressInfo } from 'node:net';
import { countingServer } from './app.js';
import { runServerChild } from './server-child.js';

runServerChild(async () => {
  const { server, counters } = countingServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, resolve);
  });
  return {
    port: (server.address() as AddressInfo).port,
    pids: [process.pid],
    counters: () => {
      const { requests, connections, clientErrors } = counters();
      return { requests: [requests], connections: [connections], problems: { clientErrors } };
    },
    stop: async () => {
      const closed = new Promise((resolve) => server.close(resolve));
      server.closeAllConnections();
      await closed;
    },
  };
});
