import { describe, expect, it } from 'vitest';
import { createEngine } from '../../src/index.js';
import { fixtureHandler, portOf, until } from '../helpers/engine.js';
import { useTeardown } from '../helpers/sockets.js';

const defer = useTeardown();

describe('Prometheus endpoint', () => {
  it('serves every counter in the text format at GET /metrics, and 404 elsewhere', async () => {
    const engine = createEngine({ shards: 2, metrics: { port: 0 } })
      .http({ port: 0, handler: fixtureHandler('hello-http.ts') })
      .udp({ ports: [0], handler: fixtureHandler('udp-echo.ts') });
    await engine.start();
    defer(() => engine.close({ timeoutMs: 200 }));
    await until(() => engine.stats().spareStandingBy, 10_000);
    for (let i = 0; i < 3; i++) await (await fetch(`http://127.0.0.1:${portOf(engine)}/`)).text();
    const metricsPort = engine.metricsPort()!;
    const response = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(response.headers.get('content-type')).toContain('text/plain');
    const text = await response.text();
    const sample = (name: string) =>
      text
        .split('\n')
        .filter((line) => line.startsWith(`${name}{`))
        .reduce((total, line) => total + Number(line.split(' ').at(-1)), 0);
    expect(text).toContain('# TYPE sockshard_shard_requests_total counter');
    expect(sample('sockshard_shard_requests_total')).toBe(3);
    expect(sample('sockshard_shard_up')).toBe(2);
    expect(text).toContain('\nsockshard_spare_up 1\n');
    expect(text).toContain('\nsockshard_engine_state{state="serving"} 1\n');
    expect(sample('sockshard_engine_state')).toBe(1);
    expect(text).toContain('\nsockshard_shard_state{shard="1",state="serving"} 1\n');
    expect(sample('sockshard_shard_state')).toBe(2);
    expect(text).toMatch(/sockshard_udp_datagrams_in_total\{listener="1",port="\d+"\} 0/);
    // Every non-comment line is `name{labels} number`.
    for (const line of text.trim().split('\n')) {
      if (!line.startsWith('#')) expect(line).toMatch(/^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? -?\d+(\.\d+)?$/);
    }
    expect((await fetch(`http://127.0.0.1:${metricsPort}/other`)).status).toBe(404);
  });
});
