import http2 from 'node:http2';
import https from 'node:https';
import { describe, expect, it } from 'vitest';
import { createEngine, type Engine, type Http2Options } from '../../src/index.js';
import { fixtureHandler, portOf } from '../helpers/engine.js';
import { useTeardown } from '../helpers/sockets.js';
import { selfSignedCertificate } from '../helpers/tls.js';

const defer = useTeardown();
const certificate = await selfSignedCertificate('localhost');

interface Who {
  readonly shard: number;
  readonly httpVersion: string;
  readonly path: string;
}

async function started(
  options: Partial<Http2Options>,
  shards = 2,
): Promise<{ engine: Engine; port: number }> {
  const engine = createEngine({ shards }).http2({
    port: 0,
    handler: fixtureHandler('whoami-http.ts'),
    balance: 'round-robin',
    ...options,
  });
  await engine.start();
  defer(() => engine.close({ timeoutMs: 500 }));
  return { engine, port: portOf(engine) };
}

function session(authority: string): http2.ClientHttp2Session {
  const client = http2.connect(authority, { rejectUnauthorized: false });
  client.on('error', () => {});
  defer(
    () =>
      new Promise<void>((resolve) => {
        if (client.closed) resolve();
        else client.close(resolve);
      }),
  );
  return client;
}

function get(client: http2.ClientHttp2Session, path: string): Promise<Who> {
  return new Promise((resolve, reject) => {
    const stream = client.request({ ':path': path });
    let body = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      body += chunk;
    });
    stream.on('end', () => resolve(JSON.parse(body) as Who));
    stream.on('error', reject);
  });
}

describe('engine.http2()', () => {
  it('serves 200 concurrent streams of one TLS connection in the shard that owns it', async () => {
    const { engine, port } = await started({ ...certificate, maxConcurrentStreams: 256 });
    const client = session(`https://127.0.0.1:${port}`);
    const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => get(client, `/s${i}`)));
    expect(new Set(answers.map((a) => a.shard)).size).toBe(1);
    expect(answers.map((a) => a.path)).toEqual(answers.map((_, i) => `/s${i}`));
    expect(answers.every((a) => a.httpVersion === '2.0')).toBe(true);
    const shard = engine.stats().shards[answers[0]!.shard]!;
    expect(shard).toMatchObject({ h2Sessions: 1, h2Streams: 200, requests: 200, tlsHandshakes: 1 });
    // A second connection goes to the other shard (round-robin), and all its streams with it.
    const other = await Promise.all(
      Array.from({ length: 10 }, (_, i) => get(session(`https://127.0.0.1:${port}`), `/o${i}`)),
    );
    expect(new Set(other.map((a) => a.shard))).toEqual(new Set([0, 1]));
  });

  it('negotiates h2 by ALPN, and with allowHTTP1 serves HTTP/1.1 clients on the same port', async () => {
    const { port } = await started({ ...certificate, allowHTTP1: true });
    expect((await get(session(`https://127.0.0.1:${port}`), '/h2')).httpVersion).toBe('2.0');
    const body = await new Promise<string>((resolve, reject) => {
      https
        .get({ port, host: '127.0.0.1', path: '/h1', rejectUnauthorized: false, agent: false }, (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            text += chunk;
          });
          res.on('end', () => resolve(text));
        })
        .on('error', reject);
    });
    expect(JSON.parse(body)).toMatchObject({ httpVersion: '1.1', path: '/h1' });
  });

  it('serves h2c (cleartext, prior knowledge)', async () => {
    const { engine, port } = await started({ cleartext: true });
    const client = session(`http://127.0.0.1:${port}`);
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => get(client, `/c${i}`)));
    expect(new Set(answers.map((a) => a.shard)).size).toBe(1);
    expect(engine.stats().total).toMatchObject({ h2Sessions: 1, h2Streams: 50, tlsHandshakes: 0 });
  });

  it('ends a session with no traffic for sessionIdleTimeoutMs and counts it, and never one with traffic', async () => {
    const timeoutMs = 600;
    const { engine, port } = await started({ cleartext: true, sessionIdleTimeoutMs: timeoutMs }, 1);
    const client = session(`http://127.0.0.1:${port}`);
    const closed = new Promise<number>((resolve) => client.once('close', () => resolve(performance.now())));
    await get(client, '/first');
    // PING frames only, a third of the timeout apart, for three timeouts: traffic, so never idle.
    await new Promise<void>((resolve) => {
      let pings = 0;
      const timer = setInterval(() => {
        if (!client.closed) client.ping(() => {});
        if (++pings < 9 && !client.closed) return;
        clearInterval(timer);
        resolve();
      }, timeoutMs / 3);
    });
    expect(client.closed).toBe(false);
    expect(engine.stats().total.idleTimeouts).toBe(0);
    const lastTraffic = performance.now();
    expect((await closed) - lastTraffic).toBeGreaterThanOrEqual(timeoutMs - 50);
    await expect.poll(() => engine.stats().total.idleTimeouts).toBe(1);
  });

  it('refuses cleartext with allowHTTP1, naming the option', () => {
    expect(() =>
      createEngine({ shards: 1 }).http2({
        port: 0,
        handler: fixtureHandler('whoami-http.ts'),
        cleartext: true,
        allowHTTP1: true,
      }),
    ).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION', option: 'http2.allowHTTP1' }));
  });
});
