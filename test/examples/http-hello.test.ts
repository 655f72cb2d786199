import http from 'node:http';
import { describe, expect, it } from 'vitest';
import { start } from '../../examples/http-hello.js';
import { useTeardown } from '../helpers/sockets.js';

const defer = useTeardown();

/** One request on its own connection (no agent: nothing stays open in this process afterwards). */
function request(port: number, method = 'GET'): Promise<{ status: number; shard: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: '/', agent: false }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        body += chunk;
      });
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, shard: String(response.headers['x-shard']), body }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

describe('examples/http-hello', () => {
  it('answers from every shard and counts the requests', async () => {
    const { engine, port, protocol } = await start({ port: 0, engine: { shards: 2 } });
    defer(() => engine.close({ timeoutMs: 500 }));
    expect(protocol).toBe('http');
    const responses = [];
    for (let i = 0; i < 10; i++) responses.push(await request(port));
    for (const { status, shard, body } of responses) {
      expect(status).toBe(200);
      expect(body).toBe(`hello from shard ${shard}\n`);
    }
    expect(engine.stats().total.requests).toBe(10);
    expect(engine.stats().total.handlerErrors).toBe(0);
  });

  it('answers 405 to a method it does not serve', async () => {
    const { engine, port } = await start({ port: 0, engine: { shards: 1 } });
    defer(() => engine.close({ timeoutMs: 500 }));
    expect((await request(port, 'POST')).status).toBe(405);
  });
});
