import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, vi } from 'vitest';
import { runWrk } from '../../bench/lib/wrk.js';
import { requirement, testWith } from '../helpers/requirements.js';

const wrk = await requirement('wrk');
const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    if (!server.listening) continue;
    server.closeAllConnections();
    server.close();
    await once(server, 'close');
  }
  vi.restoreAllMocks();
});

async function listen(server: Server): Promise<number> {
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

const CONNECTIONS = 4;

describe('bench/lib/wrk.ts', () => {
  testWith(wrk)(
    'counts every failed request: answers that are not 2xx, and connections closed before the answer',
    async () => {
      // Every 7th request is answered 503, every 11th (not also a 7th) has its connection destroyed.
      const sent = { ok: 0, unavailable: 0, destroyed: 0 };
      let requests = 0;
      const port = await listen(
        createServer((request, response) => {
          requests += 1;
          if (requests % 7 === 0) {
            sent.unavailable += 1;
            response.statusCode = 503;
            response.end('no\n');
          } else if (requests % 11 === 0) {
            sent.destroyed += 1;
            request.socket.destroy();
          } else {
            sent.ok += 1;
            response.end('hello world\n');
          }
        }),
      );
      const result = await runWrk({ url: `http://127.0.0.1:${port}/`, connections: CONNECTIONS, seconds: 1 });
      // wrk stops at its deadline with up to one request in flight per connection: it may miss that many.
      const near = (counted: number, sentByServer: number) => {
        expect(counted).toBeLessThanOrEqual(sentByServer);
        expect(counted).toBeGreaterThanOrEqual(sentByServer - CONNECTIONS);
      };
      expect(sent.destroyed).toBeGreaterThan(10);
      near(result.failures.non2xx, sent.unavailable);
      near(result.failures.read, sent.destroyed);
      near(result.ok, sent.ok);
      expect(result.requests).toBe(result.ok + result.failures.non2xx);
      expect(result.failures).toMatchObject({ connect: 0, write: 0, timeout: 0 });
      expect(result.failed).toBe(result.failures.non2xx + result.failures.read);
      expect(result.p99Ms).toBeGreaterThanOrEqual(result.p50Ms);
      expect(result.p50Ms).toBeGreaterThan(0);
      expect(result.cpuSeconds).toBeGreaterThan(0);
      expect(result.seconds).toBeGreaterThanOrEqual(1);
    },
  );

  testWith(wrk)('counts refused connections: a server that stops listening under load', async () => {
    let requests = 0;
    const server = createServer((_request, response) => {
      response.end('hello world\n');
      // wrk needs the port open when it starts; then every connection is refused from the 100th answer on.
      if (++requests === 100) {
        server.close();
        server.closeAllConnections();
      }
    });
    const port = await listen(server);
    const result = await runWrk({ url: `http://127.0.0.1:${port}/`, connections: CONNECTIONS, seconds: 1 });
    expect(result.ok).toBeLessThanOrEqual(100);
    // wrk learns of a refused connection when it writes its request there (its `connect` counts only a
    // connect() that fails at once), and tries again at once: each attempt counts.
    expect(result.failures.write).toBeGreaterThan(0);
    expect(result.failed).toBe(result.failures.connect + result.failures.write + result.failures.read);
  });

  testWith(wrk)(
    "reports response times as measured: one slow answer is one sample, not the hundreds wrk's own correction adds",
    async () => {
      let requests = 0;
      const port = await listen(
        createServer((_request, response) => {
          // The 200th request waits 300 ms, while the other connections go on.
          if (++requests === 200) setTimeout(() => response.end('hello world\n'), 300);
          else response.end('hello world\n');
        }),
      );
      const result = await runWrk({ url: `http://127.0.0.1:${port}/`, connections: CONNECTIONS, seconds: 1 });
      expect(result.failed).toBe(0);
      expect(result.maxMs).toBeGreaterThanOrEqual(290); // the timer may fire a little early
      // wrk's corrected histogram gets about 300 ms / (its mean time between requests on a connection)
      // samples spread below 300 ms for that one answer, which puts its p99 above 200 ms here.
      expect(result.p99Ms).toBeLessThan(100);
    },
  );
});
