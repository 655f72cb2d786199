import net from 'node:net';
import tls from 'node:tls';
import { describe, expect, it } from 'vitest';
import { createEngine, type Engine, type EngineOptions, type ProxyProtocolOptions } from '../../src/index.js';
import { fixtureHandler, portOf } from '../helpers/engine.js';
import { startProxyHaproxy } from '../helpers/haproxy.js';
import { requirement, testWith } from '../helpers/requirements.js';
import { closed, useTeardown } from '../helpers/sockets.js';
import { selfSignedCertificate } from '../helpers/tls.js';

const defer = useTeardown();
const certificate = await selfSignedCertificate('localhost');
/** The balancer connects from here (all of 127.0.0.0/8 is loopback on Linux); clients from elsewhere. */
const BALANCER = '127.0.0.2';
const CLIENT = '127.0.0.3';
const withHaproxy = testWith(await requirement('haproxy'));

interface Who {
  readonly shard: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
}

async function proxied(
  kind: 'http' | 'https',
  proxyProtocol: Partial<ProxyProtocolOptions> = {},
  options: EngineOptions = {},
  balance: 'round-robin' | 'hash' = 'round-robin',
): Promise<{ engine: Engine; port: number }> {
  const listener = {
    port: 0,
    handler: fixtureHandler('whoami-http.ts'),
    balance,
    proxyProtocol: { from: [BALANCER], ...proxyProtocol },
  };
  const engine = createEngine({ shards: 2, ...options });
  if (kind === 'https') engine.https({ ...listener, ...certificate });
  else engine.http(listener);
  await engine.start();
  defer(() => engine.close({ timeoutMs: 500 }));
  return { engine, port: portOf(engine) };
}

/** GET / over a connection from `localAddress`, as text (plain or TLS), through whatever listens on `port`. */
async function whoami(
  port: number,
  localAddress: string,
  secure: boolean,
): Promise<{ who: Who; localPort: number }> {
  const socket = secure
    ? tls.connect({
        socket: net.connect({ port, host: '127.0.0.1', localAddress }),
        rejectUnauthorized: false,
      })
    : net.connect({ port, host: '127.0.0.1', localAddress });
  socket.setEncoding('utf8');
  await new Promise<void>((resolve, reject) => {
    socket.once(secure ? 'secureConnect' : 'connect', () => resolve());
    socket.once('error', reject);
  });
  const localPort = socket.localPort!;
  socket.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  let text = '';
  socket.on('data', (chunk: string) => {
    text += chunk;
  });
  await closed(socket);
  return { who: JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as Who, localPort };
}

/** A raw connection from `localAddress` that sends `bytes` (and then ends, unless `hold`). */
async function raw(
  port: number,
  localAddress: string,
  bytes: string | Buffer,
  hold = false,
): Promise<net.Socket> {
  const socket = net.connect({ port, host: '127.0.0.1', localAddress });
  socket.on('error', () => {});
  socket.resume();
  defer(() => socket.destroy());
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  if (hold) socket.write(bytes);
  else socket.end(bytes);
  return socket;
}

/** GET / from the balancer's address, after `header`; what the handler answered. */
async function request(port: number, header: string): Promise<Who> {
  const socket = net.connect({ port, host: '127.0.0.1', localAddress: BALANCER });
  socket.setEncoding('utf8');
  let text = '';
  socket.on('data', (chunk: string) => {
    text += chunk;
  });
  socket.end(`${header}GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
  await closed(socket);
  return JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as Who;
}

describe('PROXY protocol behind HAProxy', () => {
  for (const [kind, version] of [
    ['http', 'send-proxy-v2'],
    ['https', 'send-proxy'],
  ] as const) {
    withHaproxy(
      `${kind} with ${version}: the handler sees the client's address, not the balancer's`,
      async () => {
        const { engine, port } = await proxied(kind);
        const haproxy = await startProxyHaproxy(port, BALANCER, version);
        defer(() => haproxy.stop());
        const answers = [];
        for (let i = 0; i < 4; i++) answers.push(await whoami(haproxy.port, CLIENT, kind === 'https'));
        for (const { who, localPort } of answers) {
          expect(who.remoteAddress).toBe(CLIENT);
          expect(who.remotePort).toBe(localPort);
        }
        expect(new Set(answers.map(({ who }) => who.shard))).toEqual(new Set([0, 1]));
        expect(engine.stats().listeners[0]!.proxy).toMatchObject({
          read: 4,
          refused: 0,
          missing: 0,
          timedOut: 0,
        });
      },
    );
  }
});

describe('PROXY protocol headers that are refused, closed and counted', () => {
  it('from a source that is not an allowed balancer, before a byte is read', async () => {
    const { engine, port } = await proxied('http');
    const socket = await raw(port, CLIENT, 'PROXY TCP4 1.2.3.4 5.6.7.8 1000 80\r\nGET / HTTP/1.1\r\n\r\n');
    await closed(socket);
    await expect.poll(() => engine.stats().listeners[0]!.proxy!.refused).toBe(1);
    expect(engine.stats().total.adopted).toBe(0);
  });

  it('truncated, missing, malformed and oversized headers', async () => {
    const { engine, port } = await proxied('http', { maxHeaderBytes: 200 });
    const v2 = Buffer.from([
      0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a, 0x21, 0x11, 0x01, 0x00,
    ]);
    const sockets = await Promise.all([
      raw(port, BALANCER, 'PROXY TCP4 1.2.3.4 5.6'),
      raw(port, BALANCER, 'GET / HTTP/1.1\r\n\r\n'),
      raw(port, BALANCER, 'PROXY TCP4 1.2.3.4 5.6.7.8 99999 80\r\n'),
      raw(port, BALANCER, Buffer.concat([v2, Buffer.alloc(256)])),
    ]);
    await Promise.all(sockets.map(closed));
    await expect
      .poll(() => engine.stats().listeners[0]!.proxy)
      .toMatchObject({ truncated: 1, missing: 1, malformed: 1, oversized: 1, read: 0 });
    expect(engine.stats().total.adopted).toBe(0);
  });

  it('slow: not complete within timeoutMs', async () => {
    const { engine, port } = await proxied('http', { timeoutMs: 300 });
    const started = performance.now();
    const socket = await raw(port, BALANCER, 'PROXY TCP4 1.2.3.4 ', true);
    await closed(socket);
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    await expect.poll(() => engine.stats().listeners[0]!.proxy!.timedOut).toBe(1);
  });
});

describe('PROXY protocol: the balancer and the per-address cap see the client', () => {
  it("hash balancing keeps one client on one shard, and maxConnectionsPerAddress counts the client's address", async () => {
    const { engine, port } = await proxied('http', {}, { limits: { maxConnectionsPerAddress: 1 } }, 'hash');
    // Held open: the first from 198.51.100.7 takes its one place; the second from it is refused.
    const first = await raw(port, BALANCER, 'PROXY TCP4 198.51.100.7 10.0.0.1 1111 80\r\n', true);
    await expect.poll(() => engine.stats().total.adopted).toBe(1);
    const second = await raw(port, BALANCER, 'PROXY TCP4 198.51.100.7 10.0.0.1 2222 80\r\n', true);
    await closed(second);
    expect(engine.stats().listeners[0]!.refusedPerAddress).toBe(1);
    // Another client through the same balancer is let in.
    const other = await raw(
      port,
      BALANCER,
      'PROXY TCP4 198.51.100.8 10.0.0.1 3333 80\r\nGET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
      true,
    );
    await closed(other);
    first.destroy();
    await expect.poll(() => engine.stats().total.connections).toBe(0);
    // With the cap free again, the same client lands on the same shard every time.
    const shards = new Set<number>();
    for (let i = 0; i < 4; i++) {
      const who = await request(port, `PROXY TCP4 198.51.100.7 10.0.0.1 ${4000 + i} 80\r\n`);
      expect(who.remoteAddress).toBe('198.51.100.7');
      shards.add(who.shard);
      // The cap is 1: the next may come once the shard has seen this one close.
      await expect.poll(() => engine.stats().total.connections).toBe(0);
    }
    expect(shards.size).toBe(1);
  });

  it('serves the fast HTTP path behind PROXY headers, balanced by the client (its handlers have no socket)', async () => {
    const engine = createEngine({ shards: 2 });
    engine.http({
      port: 0,
      api: 'fast',
      handler: fixtureHandler('fast-context.ts'),
      balance: 'hash',
      proxyProtocol: { from: [BALANCER] },
    });
    await engine.start();
    defer(() => engine.close({ timeoutMs: 500 }));
    const port = portOf(engine);
    const shards = new Set<string>();
    for (let i = 0; i < 4; i++) {
      const socket = await raw(
        port,
        BALANCER,
        `PROXY TCP4 198.51.100.7 10.0.0.1 ${5000 + i} 80\r\nGET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      );
      let text = '';
      socket.removeAllListeners('data');
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => {
        text += chunk;
      });
      await closed(socket);
      expect(text).toMatch(/^HTTP\/1\.1 200 /);
      shards.add(/x-shard: (\d)/i.exec(text)![1]!);
    }
    expect(shards.size).toBe(1);
    expect(engine.stats().listeners[0]!.proxy).toMatchObject({ read: 4, missing: 0 });
  });

  it("refuses 'kernel' balancing, which leaves the coordinator no header to read", () => {
    expect(() =>
      createEngine({ shards: 1 }).http({
        port: 0,
        handler: fixtureHandler('whoami-http.ts'),
        balance: 'kernel',
        proxyProtocol: { from: [BALANCER] },
      }),
    ).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION', option: 'http.proxyProtocol' }));
  });
});
