/**
 * bench/ring.ts: cross-thread records/s per record size (keys "<contender> <size>" in `throughput`, plus the
 * single-thread copy limit in bytes/s per size) and the ping-pong round trip in µs (p50 and p99).
 */
import { type Entry, makeGroup } from './group.js';
import { figuresAt, objectAt, ratiosOf, scaleFigures } from './json.js';
import type { BenchReport, ReportGroup } from './types.js';

const BASELINE = 'postMessage';

/** "ringbuf.js 64" -> ["ringbuf.js", 64]: the size is the last word, contender names may contain spaces. */
function splitKey(key: string): [string, number] | null {
  const space = key.lastIndexOf(' ');
  const size = Number(key.slice(space + 1));
  return space > 0 && Number.isInteger(size) && size > 0 ? [key.slice(0, space), size] : null;
}

export function adaptRing(json: unknown): BenchReport {
  const throughput = objectAt(json, 'throughput');
  const bySize = new Map<number, Entry[]>();
  for (const key of Object.keys(throughput)) {
    const split = splitKey(key);
    if (split === null) continue;
    const [contender, size] = split;
    const entries = bySize.get(size) ?? [];
    entries.push({ contender, figures: figuresAt(throughput, key) });
    bySize.set(size, entries);
  }
  const copy = objectAt(json, 'copyLimitBytesPerSecond');
  for (const key of Object.keys(copy)) {
    const size = Number(key);
    if (!Number.isInteger(size) || size <= 0) continue;
    const entries = bySize.get(size) ?? [];
    // The copy limit is measured in bytes/s: shown in records/s of that size, to sit in the same column.
    entries.push({ contender: 'copy limit', figures: scaleFigures(figuresAt(copy, key), 1 / size) });
    bySize.set(size, entries);
  }
  const groups: ReportGroup[] = [...bySize.entries()]
    .sort(([a], [b]) => a - b)
    .map(([size, entries]) =>
      makeGroup({
        scenario: `${size}-byte records`,
        description: `${size}-byte records, cross-thread throughput (copy limit: single-thread copy into a shared buffer)`,
        baseline: BASELINE,
        entries,
      }),
    );
  const pingpong = objectAt(json, 'pingpongMicros');
  for (const percentile of ['p50', 'p99'] as const) {
    const entries = Object.keys(pingpong).map((contender) => ({
      contender,
      figures: figuresAt(pingpong, contender, percentile),
    }));
    if (entries.length === 0) continue;
    groups.push(
      makeGroup({
        scenario: `round trip ${percentile}`,
        description: `wake-up round trip, 64-byte record, ${percentile}`,
        unit: 'µs',
        higherIsBetter: false,
        baseline: BASELINE,
        entries,
      }),
    );
  }
  return {
    title: 'Ring: SharedArrayBuffer ring vs postMessage and ringbuf.js',
    unit: 'records/s',
    higherIsBetter: true,
    groups,
    headline: ratiosOf(json),
    explain: {
      ring64_vs_postMessage: 'records/s, 64-byte records: ring / postMessage (higher is better)',
      ring64_vs_postMessage_batched: 'records/s, 64-byte records: ring / postMessage packing 64 per call',
      ring64_vs_ringbufjs: 'records/s, 64-byte records: ring / ringbuf.js',
      ring16k_vs_copy_limit: 'bytes/s, 16 KiB records: ring / single-thread copy bandwidth (at most 1)',
      pingpong_p50_vs_postMessage: 'round trip p50: spinning ring / postMessage (lower is better)',
      pingpong_park_p50_vs_postMessage: 'round trip p50: parked (Atomics.wait) ring / postMessage',
      pingpong_async_p50_vs_postMessage: 'round trip p50: Atomics.waitAsync ring / postMessage',
    },
    key: ['ring64_vs_postMessage', 'ring64_vs_ringbufjs', 'pingpong_p50_vs_postMessage'],
  };
}
