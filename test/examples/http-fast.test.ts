import { describe, expect, it } from 'vitest';
import { start } from '../../examples/http-fast.js';
import { WireClient } from '../helpers/http-responses.js';
import { useTeardown } from '../helpers/sockets.js';

const defer = useTeardown();

describe('examples/http-fast', () => {
  it('serves its routes on one keep-alive connection', async () => {
    const { engine, port, protocol } = await start({ port: 0, engine: { shards: 2 } });
    defer(() => engine.close({ timeoutMs: 500 }));
    expect(protocol).toBe('http');
    const c = await WireClient.connect(port);
    defer(() => c.close());
    c.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    c.write('GET /json HTTP/1.1\r\nHost: x\r\nUser-Agent: test\r\n\r\n');
    c.write('POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello');
    c.write('GET /count?to=3 HTTP/1.1\r\nHost: x\r\n\r\n');
    c.write('GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n');
    const [hello, json, echo, count, missing] = await c.responses(5);
    const shard = hello!.headers.get('x-shard')![0];
    expect(hello!.body.toString()).toBe(`hello from shard ${shard}\n`);
    expect(JSON.parse(json!.body.toString())).toEqual({ shard: Number(shard), agent: 'test' });
    expect(echo!.body.toString()).toBe('hello');
    expect([count!.chunked, count!.body.toString()]).toEqual([true, '1\n2\n3\n']);
    expect(missing!.status).toBe(404);
    expect(engine.stats().total.requests).toBe(5);
  });
});
