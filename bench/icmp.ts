/**
 * ICMP benchmark: echo round trips per second on 127.0.0.1 with probes in flight, and their p50 / p99 round
 * trip, for sockshard against the system's own tools in the same run:
 *
 * - one target, a window of W probes in flight: sockshard's raw socket alone (main thread, no rings)
 *   against iputils `ping -f -l W`;
 * - 200 targets x K probes at a 1 ms period each (fping's use case): the same against `fping -C K -p 1 -i 0`;
 * - the full engine path (shard → ring → coordinator → raw socket → ... → shard): NOT YET WIRED, printed as
 *   such and left out of every ratio until bench/icmp/engine-echo.ts is filled in.
 *
 *   npm run bench:icmp [-- --quick] [-- --runs N]        (needs root: raw sockets, ping -f)
 *
 * The machine is shared and noisy: contenders take turns within each run, figures are medians over runs,
 * and the ratios say which sockshard row they use. Writes bench/results/icmp.json.
 */
import { fping, installHint, missingTools, pingFlood } from './icmp/baselines.js';
import { engineEcho } from './icmp/engine-echo.js';
import { type EchoFigures, type EchoOutcome, isSkipped } from './icmp/figures.js';
import { micro } from './icmp/micro.js';
import { type EchoWorkload, rawSocketEcho } from './icmp/raw-socket-echo.js';
import { benchArgs, median, printTable, si, writeResults } from './lib/report.js';

const args = benchArgs(3);
const WINDOW = 16;
const FLOOD: EchoWorkload = {
  targets: 1,
  count: args.quick ? 20_000 : 100_000,
  intervalMs: 0,
  window: WINDOW,
};
// 200 targets at a 1 ms period allow 200k probes/s, above what either side reaches here, so the sweep
// measures capacity; with 64 targets both sat at the 64k/s the period allows.
// fping numbers every probe of a run from one 16-bit sequence map: 200 targets x 300 fits, x 500 does not.
const SWEEP: EchoWorkload = { targets: 200, count: args.quick ? 100 : 300, intervalMs: 1, window: 1 };

type Row =
  | 'raw-socket alone, 1 target'
  | 'ping -f'
  | 'raw-socket alone, many targets'
  | 'fping'
  | 'engine path, 1 target'
  | 'engine path, many targets';
const LABELS: Record<Row, string> = {
  'raw-socket alone, 1 target': `sockshard raw socket alone (main thread), 1 target, window ${WINDOW}`,
  'ping -f': `iputils ping -f -l ${WINDOW}`,
  'raw-socket alone, many targets': `sockshard raw socket alone (main thread), ${SWEEP.targets} targets, 1 ms period`,
  fping: `fping -C ${SWEEP.count} -p 1 -i 0, ${SWEEP.targets} targets`,
  'engine path, 1 target': `sockshard engine (shard → ring → coordinator → raw socket → ring → shard), 1 target, window ${WINDOW}`,
  'engine path, many targets': `sockshard engine, ${SWEEP.targets} targets over the shards, 1 ms period`,
};

const missing = await missingTools();
if (missing.length > 0) {
  console.log(
    `not installed: ${missing.join(', ')}; their rows are skipped. Install with: ${installHint(missing)}`,
  );
}
if (process.getuid?.() !== 0)
  console.log('not root: raw sockets and ping -f need root (or CAP_NET_RAW); rows skip.');

const runs: Record<Row, EchoOutcome[]> = {
  'raw-socket alone, 1 target': [],
  'ping -f': [],
  'raw-socket alone, many targets': [],
  fping: [],
  'engine path, 1 target': [],
  'engine path, many targets': [],
};
for (let run = 1; run <= args.runs; run++) {
  process.stdout.write(`run ${run}/${args.runs}:`);
  runs['raw-socket alone, 1 target'].push(await rawSocketEcho(FLOOD));
  process.stdout.write(' raw-socket');
  runs['ping -f'].push(await pingFlood(WINDOW, FLOOD.count));
  process.stdout.write(' ping');
  runs['raw-socket alone, many targets'].push(await rawSocketEcho(SWEEP));
  process.stdout.write(' raw-socket');
  runs.fping.push(await fping(SWEEP.targets, SWEEP.count));
  process.stdout.write(' fping');
  runs['engine path, 1 target'].push(await engineEcho(FLOOD));
  process.stdout.write(' engine');
  runs['engine path, many targets'].push(await engineEcho(SWEEP));
  process.stdout.write(' engine\n');
}

interface Summary {
  readonly label: string;
  readonly status: 'measured' | 'skipped';
  readonly reason?: string;
  readonly roundTripsPerSecond?: number;
  readonly runs?: number[];
  readonly p50Ms?: number | null;
  readonly p99Ms?: number | null;
  readonly avgMs?: number | null;
  readonly lossPercent?: number;
}

function summarize(row: Row): Summary {
  const label = LABELS[row];
  const outcomes = runs[row];
  const skipped = outcomes.find(isSkipped);
  if (skipped !== undefined) return { label, status: 'skipped', reason: skipped.skipped };
  const figures = outcomes as EchoFigures[];
  const pick = (value: (f: EchoFigures) => number | null) => {
    const values = figures.map(value).filter((v): v is number => v !== null);
    return values.length === 0 ? null : median(values);
  };
  return {
    label,
    status: 'measured',
    roundTripsPerSecond: median(figures.map((f) => f.roundTripsPerSecond)),
    runs: figures.map((f) => f.roundTripsPerSecond),
    p50Ms: pick((f) => f.p50Ms),
    p99Ms: pick((f) => f.p99Ms),
    avgMs: pick((f) => f.avgMs),
    lossPercent: median(figures.map((f) => f.lossPercent)),
  };
}

const rows = Object.fromEntries((Object.keys(runs) as Row[]).map((row) => [row, summarize(row)])) as Record<
  Row,
  Summary
>;

/** Ours over theirs (round trips/s), or null with the reason when either row is missing. */
function ratio(ours: Row, theirs: Row) {
  const mine = rows[ours];
  const other = rows[theirs];
  if (mine.status !== 'measured' || other.status !== 'measured') {
    return {
      value: null,
      basis: `not computed: ${mine.status === 'measured' ? other.label : mine.label} skipped`,
    };
  }
  return {
    value: mine.roundTripsPerSecond! / other.roundTripsPerSecond!,
    basis: `${mine.label} / ${other.label}`,
  };
}

const ratios = {
  echo_vs_fping: ratio('engine path, many targets', 'fping'),
  echo_vs_ping_flood: ratio('engine path, 1 target', 'ping -f'),
  // Where the engine's time goes: its path against its own parts on one thread with no rings.
  engine_vs_raw_socket_1_target: ratio('engine path, 1 target', 'raw-socket alone, 1 target'),
  engine_vs_raw_socket_many_targets: ratio('engine path, many targets', 'raw-socket alone, many targets'),
};

const ms = (value: number | null | undefined) =>
  value === null || value === undefined ? '-' : value.toFixed(3);
printTable(
  `ICMP echo on 127.0.0.1 (median of ${args.runs} run${args.runs === 1 ? '' : 's'}${args.quick ? ', --quick' : ''}; noisy shared machine)`,
  Object.values(rows).map((row) => ({
    contender: row.label,
    'round trips/s': row.status === 'measured' ? si(row.roundTripsPerSecond!) : row.status,
    'p50 ms': ms(row.p50Ms),
    'p99 ms': ms(row.p99Ms),
    'avg ms': ms(row.avgMs),
    'loss %': row.lossPercent === undefined ? '-' : row.lossPercent.toFixed(2),
    note:
      row.reason ??
      (row.status === 'measured' && row.p50Ms === null ? 'no per-reply times in flood mode' : ''),
  })),
);
printTable(
  'ratios (round trips/s, ours / theirs)',
  Object.entries(ratios).map(([name, { value, basis }]) => ({
    name,
    value: value === null ? '-' : value.toFixed(2),
    basis,
  })),
);
const perSecond = await micro(args.quick);
printTable(
  'per-packet work on one thread (operations/s)',
  Object.entries(perSecond).map(([name, value]) => ({ operation: name, 'per second': si(value) })),
);

const file = writeResults('icmp', {
  quick: args.quick,
  runs: args.runs,
  workloads: { flood: FLOOD, sweep: SWEEP },
  rows,
  ratios,
  microOpsPerSecond: perSecond,
  notes: [
    'raw-socket alone = IcmpSocket + IcmpDemux + PingTracker in the main thread, no rings: a floor, not the engine path.',
    'engine path: a shard pings through its ring to the coordinator raw socket and back; targets split over the shards.',
    'ping -f prints no per-reply times: its p50/p99 are absent; its avg is from its own rtt line.',
  ],
});
console.log(`\nwrote ${file}`);
