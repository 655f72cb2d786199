/**
 * bench/udp.ts: `results["<contender> | <size>"]` holds echoed datagrams/s (`perSecond`) and the share
 * lost (`dropRate`); the baseline is the single-threaded node:dgram server.
 */
import { type Entry, makeGroup } from './group.js';
import { figuresAt, numberAt, objectAt, ratiosOf } from './json.js';
import type { BenchReport } from './types.js';

const KEY_SEPARATOR = ' | ';

export function adaptUdp(json: unknown): BenchReport {
  const results = objectAt(json, 'results');
  const bySize = new Map<number, Entry[]>();
  for (const key of Object.keys(results)) {
    const cut = key.lastIndexOf(KEY_SEPARATOR);
    const size = Number(key.slice(cut + KEY_SEPARATOR.length));
    if (cut <= 0 || !Number.isInteger(size)) continue;
    const drop = numberAt(results, key, 'dropRate', 'median');
    const entries = bySize.get(size) ?? [];
    entries.push({
      contender: key.slice(0, cut),
      figures: figuresAt(results, key, 'perSecond'),
      extra: { 'drop rate': drop === null ? 'n/a' : `${(drop * 100).toFixed(3)}%` },
    });
    bySize.set(size, entries);
  }
  const flows = numberAt(json, 'flows');
  const window = numberAt(json, 'window');
  const load = flows === null || window === null ? '' : `, ${flows} flows x ${window} in flight`;
  const groups = [...bySize.entries()]
    .sort(([a], [b]) => a - b)
    .map(([size, entries]) =>
      makeGroup({
        scenario: `${size}-byte datagrams`,
        description: `${size}-byte datagrams echoed${load}`,
        baseline: entries.find((e) => e.contender.startsWith('node:dgram'))?.contender,
        entries,
      }),
    );
  return {
    title: 'UDP: sockshard echo vs single-threaded node:dgram',
    unit: 'datagrams/s',
    higherIsBetter: true,
    groups,
    headline: ratiosOf(json),
    explain: {
      echo64_vs_dgram: 'echoed/s, 64-byte datagrams: sockshard (a port per shard) / node:dgram',
      echo1200_vs_dgram: 'echoed/s, 1200-byte datagrams: sockshard (a port per shard) / node:dgram',
      reuseport64_vs_dgram: 'echoed/s, 64-byte datagrams: sockshard (reusePort, one port) / node:dgram',
      reuseport1200_vs_dgram: 'echoed/s, 1200-byte datagrams: sockshard (reusePort, one port) / node:dgram',
      batched64_vs_dgram: 'echoed/s, 64-byte datagrams: sockshard batched native path / node:dgram',
      batched1200_vs_dgram: 'echoed/s, 1200-byte datagrams: sockshard batched native path / node:dgram',
      batched_vs_dgram_path:
        'echoed/s, 64-byte datagrams: sockshard batched path / sockshard node:dgram path',
    },
    key: ['echo64_vs_dgram', 'echo1200_vs_dgram', 'batched64_vs_dgram'],
  };
}
