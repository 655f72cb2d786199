import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { createEngine } from '../../src/index.js';
import { fixtureHandler, portOf } from '../helpers/engine.js';
import { closed, useTeardown } from '../helpers/sockets.js';

const defer = useTeardown();

async function helloEngine(options: { keepAliveTimeout?: number; maxRequestsPerSocket?: number }) {
  const engine = createEngine({ shards: 1 }).http({
    port: 0,
    handler: fixtureHandler('hello-http.ts'),
    ...options,
  });
  await engine.start();
  defer(() => engine.close({ timeoutMs: 200 }));
  return portOf(engine);
}

/** Rejects if `promise` has not settled within `ms` (a deadline, not a wait: it resolves as soon as it can). */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

describe('HTTP keep-alive options', () => {
  it('keepAliveTimeout: the server announces it and closes an idle connection after it, not before', async () => {
    const port = await helloEngine({ keepAliveTimeout: 1_000 });
    const socket = net.connect(port, '127.0.0.1');
    const ended = closed(socket);
    socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    const [response] = (await once(socket, 'data')) as [Buffer];
    const idleFrom = performance.now();
    expect(response.toString()).toMatch(/\r\nKeep-Alive: timeout=1\r\n/);
    // node:http's default is 5 s (and Node 24.6+ adds keepAliveTimeoutBuffer, 1 s, to whichever applies): a
    // closing within 4 s is this setting's, and not before 1 s.
    await within(ended, 4_000, 'the server closing the idle connection');
    expect(performance.now() - idleFrom).toBeGreaterThanOrEqual(950);
  });

  it('maxRequestsPerSocket: the last allowed response says close, and the next request needs a new connection', async () => {
    const port = await helloEngine({ maxRequestsPerSocket: 3 });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    defer(() => agent.destroy());
    const seen: { localPort: number; connection: string | undefined; body: string }[] = [];
    for (let i = 0; i < 4; i++) {
      const response = await new Promise<http.IncomingMessage>((resolve, reject) =>
        http.get({ host: '127.0.0.1', port, path: `/${i}`, agent }, resolve).on('error', reject),
      );
      const { localPort } = response.socket;
      response.setEncoding('utf8');
      let body = '';
      for await (const chunk of response) body += chunk;
      seen.push({ localPort: localPort!, connection: response.headers.connection, body });
    }
    expect(seen.map((s) => s.body)).toEqual([0, 1, 2, 3].map((i) => `hello from shard 0 /${i}\n`));
    expect(seen.map((s) => s.connection)).toEqual(['keep-alive', 'keep-alive', 'close', 'keep-alive']);
    const [first, second, third, fourth] = seen.map((s) => s.localPort);
    expect([second, third]).toEqual([first, first]);
    expect(fourth).not.toBe(first);
  });
});
