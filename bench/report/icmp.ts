/**
 * bench/icmp.ts: `rows[key]` holds one contender's echo round trips/s (`roundTripsPerSecond`, the median,
 * and `runs`), p50/p99 in ms and loss, or a `status` saying why it has none ('skipped', 'not yet wired');
 * `ratios[key]` is `{ value, basis }`; `microOpsPerSecond` holds single-thread per-packet costs.
 * Two workloads, each against the system tool built for it: a flood at one target (ping -f) and a sweep
 * over many targets (fping).
 */
import { type Entry, makeGroup } from './group.js';
import {
  at,
  figuresOfRuns,
  type JsonObject,
  numberAt,
  objectAt,
  ratioBases,
  ratiosOf,
  stringAt,
} from './json.js';
import type { BenchReport, ReportGroup } from './types.js';

interface Workload {
  readonly name: 'flood' | 'sweep';
  readonly baseline: string;
  /** Which rows belong to it, by key: bench/icmp.ts names its rows after the workload they run. */
  readonly has: (row: string) => boolean;
}

const WORKLOADS: readonly Workload[] = [
  {
    name: 'flood',
    baseline: 'ping -f',
    // 'engine path' alone is the name of the engine row before it ran both workloads (the flood).
    has: (row) => row === 'ping -f' || row === 'engine path' || /(^|, )1 target$/.test(row),
  },
  { name: 'sweep', baseline: 'fping', has: (row) => row === 'fping' || /(^|, )many targets$/.test(row) },
];

const EXPLAIN: Readonly<Record<string, string>> = {
  echo_vs_fping: 'round trips/s, 200 targets at a 1 ms period: sockshard / fping',
  echo_vs_ping_flood: 'round trips/s, one target, 16 in flight: sockshard / ping -f',
  engine_vs_raw_socket_1_target: 'round trips/s, one target: engine path / raw socket alone (its floor)',
  engine_vs_raw_socket_many_targets: 'round trips/s, 200 targets: engine path / raw socket alone (its floor)',
};

function ms(value: number | null): string {
  return value === null ? 'n/a' : value.toFixed(3);
}

function describe(json: unknown, workload: string): string {
  const w = objectAt(json, 'workloads', workload);
  const targets = numberAt(w, 'targets');
  const count = numberAt(w, 'count');
  const interval = numberAt(w, 'intervalMs');
  const window = numberAt(w, 'window');
  const parts = [
    targets === null ? null : `${targets} target${targets === 1 ? '' : 's'}`,
    count === null ? null : `${count} probes each`,
    interval === null || interval === 0 ? null : `every ${interval} ms`,
    window === null ? null : `${window} in flight`,
  ].filter((part) => part !== null);
  return `echo on 127.0.0.1, ${workload}${parts.length === 0 ? '' : `: ${parts.join(', ')}`}`;
}

function entry(rows: JsonObject, key: string, notes: string[]): Entry {
  const row = rows[key];
  const status = stringAt(row, 'status');
  if (status !== null && status !== 'measured') {
    const reason = stringAt(row, 'reason');
    notes.push(`${key}: ${status}${reason === null ? '' : ` (${reason})`}`);
  }
  const runs = figuresOfRuns(at(row, 'runs'));
  const loss = numberAt(row, 'lossPercent');
  return {
    contender: key,
    // The JSON's own median wins; the runs give the spread.
    figures: { ...runs, median: numberAt(row, 'roundTripsPerSecond') ?? runs.median },
    extra: {
      'p50 ms': ms(numberAt(row, 'p50Ms')),
      'p99 ms': ms(numberAt(row, 'p99Ms')),
      'loss %': loss === null ? 'n/a' : loss.toFixed(2),
    },
  };
}

export function adaptIcmp(json: unknown): BenchReport {
  const rows = objectAt(json, 'rows');
  const placed = new Set<string>();
  const groups: ReportGroup[] = [];
  for (const workload of WORKLOADS) {
    const keys = Object.keys(rows).filter((key) => !placed.has(key) && workload.has(key));
    if (keys.length === 0) continue;
    const notes: string[] = [];
    const entries = keys.map((key) => entry(rows, key, notes));
    for (const key of keys) placed.add(key);
    groups.push(
      makeGroup({
        scenario: workload.name,
        description: describe(json, workload.name),
        baseline: workload.baseline,
        entries,
        notes,
      }),
    );
  }
  // Rows that fit neither workload still show, without a ratio.
  const others = Object.keys(rows).filter((key) => !placed.has(key));
  if (others.length > 0) {
    const notes: string[] = [];
    groups.push(
      makeGroup({
        scenario: 'other',
        entries: others.map((key) => entry(rows, key, notes)),
        notes,
      }),
    );
  }
  const micro = objectAt(json, 'microOpsPerSecond');
  const operations = Object.keys(micro);
  if (operations.length > 0) {
    groups.push(
      makeGroup({
        scenario: 'per-packet work',
        description: 'per-packet work on one thread (a single measurement: no spread)',
        unit: 'operations/s',
        entries: operations.map((contender) => ({
          contender,
          figures: { median: numberAt(micro, contender), min: null, max: null },
        })),
      }),
    );
  }
  const noted = at(json, 'notes');
  const notes = Array.isArray(noted) ? noted.filter((n): n is string => typeof n === 'string') : [];
  const bases = ratioBases(json);
  // The full basis (which rows, and whether the engine path was used) is a note; the table says it short.
  for (const [key, basis] of Object.entries(bases)) notes.push(`\`${key}\` = ${basis}`);
  return {
    title: 'ICMP: sockshard echo vs ping -f and fping',
    unit: 'round trips/s',
    higherIsBetter: true,
    groups,
    headline: ratiosOf(json),
    explain: { ...bases, ...EXPLAIN },
    key: ['echo_vs_fping', 'echo_vs_ping_flood'],
    notes,
  };
}
