import http from 'node:http';
import { describe, expect } from 'vitest';
import type { HostStatus } from '../../examples/icmp-monitor/monitor.js';
import { start } from '../../examples/icmp-monitor.js';
import { requirement, testWith } from '../helpers/requirements.js';
import { useTeardown } from '../helpers/sockets.js';

const defer = useTeardown();
const withIcmp = testWith(await requirement('raw-icmp'));

function status(
  port: number,
): Promise<{ servedBy: number; hosts: (HostStatus | { host: string; pending: true })[] }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/', agent: false }, (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          body += chunk;
        });
        response.on('end', () => resolve(JSON.parse(body)));
      })
      .on('error', reject);
  });
}

describe('examples/icmp-monitor', () => {
  withIcmp('pings its hosts from both shards and any shard serves the whole table', async () => {
    const hosts = ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4'];
    const { engine, port } = await start({ port: 0, hosts, intervalMs: 100, engine: { shards: 2 } });
    defer(() => engine.close({ timeoutMs: 500 }));
    const servedBy = new Set<number>();
    let table = await status(port);
    // Until both shards have answered with the full table (the last one asked was full).
    await expect
      .poll(
        async () => {
          table = await status(port);
          if (table.hosts.every((h) => !('pending' in h))) servedBy.add(table.servedBy);
          return [...servedBy].sort();
        },
        { timeout: 5_000, interval: 50 },
      )
      .toEqual([0, 1]);
    // Each host measured by its own shard (i % 2).
    const rows = table.hosts as HostStatus[];
    expect(rows.map((row) => row.host)).toEqual(hosts);
    rows.forEach((row, i) => {
      expect(row.shard).toBe(i % 2);
      expect(row.received).toBe(row.transmitted);
      expect(row.transmitted).toBe(3);
    });
  });
});
