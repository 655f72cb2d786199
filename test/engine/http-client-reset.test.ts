import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { createEngine } from '../../src/index.js';
import { fixtureHandler, portOf, until } from '../helpers/engine.js';
import { closed, useTeardown } from '../helpers/sockets.js';

const defer = useTeardown();

describe('an HTTP client that breaks off in the middle of a request', () => {
  it.each([
    ['resets', (socket: net.Socket) => socket.resetAndDestroy()],
    ['half-closes', (socket: net.Socket) => socket.end()],
  ])(
    '%s: counted once, as a socket error (not also as a bad request); the shard serves on',
    async (_how, breakOff) => {
      const engine = createEngine({ shards: 1 }).http({ port: 0, handler: fixtureHandler('hello-http.ts') });
      await engine.start();
      defer(() => engine.close({ timeoutMs: 200 }));
      const port = portOf(engine);
      const clients = 5;
      for (let i = 0; i < clients; i++) {
        const socket = net.connect(port, '127.0.0.1');
        await new Promise((resolve) => socket.once('connect', resolve));
        socket.write('GET / HTTP/1.1\r\nHost: x\r\nX-Half-Sent: ');
        // The shard has taken the connection: the break reaches a socket that node:http is parsing.
        await until(() => engine.stats().total.adopted === i + 1, 5_000);
        const gone = closed(socket);
        breakOff(socket);
        await gone;
      }
      await until(() => engine.stats().total.closed === clients, 5_000);
      const { total } = engine.stats();
      expect([total.socketErrors, total.httpBadRequests]).toEqual([clients, 0]);
      expect((await fetch(`http://127.0.0.1:${port}/`)).status).toBe(200);
    },
  );
});
