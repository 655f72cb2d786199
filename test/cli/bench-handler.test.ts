import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  BenchServer,
  type ContenderResult,
  formatHandlerBench,
  type HandlerBenchReport,
} from '../../src/cli/handler-bench.js';
import { useTeardown } from '../helpers/sockets.js';
import { httpGet } from './cli-process.js';

const defer = useTeardown();
const HANDLER = new URL('../fixtures/cli/hello-http.mjs', import.meta.url);

describe("sockshard bench ./app.mjs: each contender's server", () => {
  it.each([
    ['sockshard', 2],
    ['cluster', 2],
    ['http', 1],
  ] as const)(
    '%s with %i worker(s) serves the handler, reports its CPU time and closes',
    async (contender, workers) => {
      const { server, port } = await BenchServer.start(contender, HANDLER, workers);
      defer(() => server.close());
      const before = await server.cpuMicros();
      // One connection per request: cluster's round robin gives consecutive connections to its workers in turn.
      const bodies = new Set<string>();
      for (let i = 0; i < 6; i++) bodies.add(await httpGet(port));
      const expected = Array.from(
        { length: workers },
        (_, shard) => `hello from shard ${shard} of ${workers}\n`,
      );
      if (contender === 'sockshard') expect(expected).toEqual(expect.arrayContaining([...bodies]));
      else expect([...bodies].sort()).toEqual(expected);
      expect(await server.cpuMicros()).toBeGreaterThan(before);
      await server.close();
    },
  );

  it('a handler module that does not load fails the start with its error', async () => {
    const missing = pathToFileURL('/nonexistent/handler.mjs');
    await expect(BenchServer.start('http', missing, 1)).rejects.toThrow(/Cannot find module/);
  });
});

describe('the report', () => {
  const row = (name: ContenderResult['name'], label: string, rps: number, cpu: number): ContenderResult => ({
    name,
    label,
    workers: name === 'http' ? 1 : 2,
    requestsPerSecond: rps,
    requests: rps * 3,
    non2xx: 0,
    errors: name === 'http' ? 2 : 0,
    timeouts: 0,
    latencyMs: { p50: 3, p90: 5, p99: 9, max: 20 },
    cpuMicrosPerRequest: cpu,
  });
  const report: HandlerBenchReport = {
    handler: './app.mjs',
    node: 'v20.20.2',
    workers: 2,
    connections: 100,
    warmupSeconds: 1,
    durationSeconds: 3,
    path: '/',
    contenders: [
      row('sockshard', 'sockshard, 2 shards', 3000, 60),
      row('cluster', 'node:cluster, 2 workers', 2000, 80),
      row('http', 'node:http, 1 thread', 1500, 50),
    ],
    ratios: {
      throughputVsCluster: 1.5,
      throughputVsHttp: 2,
      cpuPerRequestVsCluster: 0.75,
      cpuPerRequestVsHttp: 1.2,
    },
  };

  it('is a table: throughput, its ratio to each baseline, latencies, CPU per request and errors', () => {
    const lines = formatHandlerBench(report).split('\n');
    expect(lines[2]).toMatch(
      /^contender\s+req\/s\s+vs cluster\s+vs http\s+p50 ms\s+p90 ms\s+p99 ms\s+CPU us\/req\s+errors$/,
    );
    expect(lines[4]).toMatch(/^sockshard, 2 shards\s+3,000\s+1\.50x\s+2\.00x\s+3\s+5\s+9\s+60\.0\s+0$/);
    expect(lines[5]).toMatch(/^node:cluster, 2 workers\s+2,000\s+1\.00x\s+1\.33x\s+3\s+5\s+9\s+80\.0\s+0$/);
    expect(lines[6]).toMatch(/^node:http, 1 thread\s+1,500\s+0\.75x\s+1\.00x\s+3\s+5\s+9\s+50\.0\s+2$/);
    expect(lines[8]).toBe(
      "sockshard: 1.50x node:cluster's throughput at 0.75x its CPU per request; 2.00x one node:http thread's at 1.20x its CPU per request.",
    );
  });
});
