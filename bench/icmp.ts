/**
 * ICMP benchmark: echo round trips per second on 127.0.0.1, their p50/p99 and the CPU per round trip, for
 * sockshard's engine path and its raw socket alone against the system's tools in the same run: a flood at
 * one target with 16 probes in flight against `ping -f -l 16`, and 200 targets at a 1 ms period against
 * `fping` (its use case). Then the per-packet work on one thread.
 *
 *   npm run bench:icmp [-- --quick] [-- --runs N]        (needs root: raw sockets, ping -f)
 */

import { type Echo, engineEcho, rawSocketEcho, type Workload } from './icmp/echo.js';
import { micro } from './icmp/micro.js';
import { fping, missing, pingFlood } from './icmp/tools.js';
import { benchArgs } from './lib/args.js';
import { perOperation } from './lib/cpu.js';
import { ReportBuilder } from './lib/report.js';

const args = benchArgs({ usage: 'npm run bench:icmp -- [options]   (as root)', runs: 3 });
const FLOOD: Workload = { targets: 1, count: 100_000, intervalMs: 0, window: 16 };
// 200 targets at 1 ms allow 200k probes/s, more than either side reaches here, so the sweep measures
// capacity. fping numbers every probe of a run in one 16-bit sequence space: 200 x 300 fits, x 500 does not.
const SWEEP: Workload = { targets: 200, count: 300, intervalMs: 1, window: 1 };
const root = process.getuid?.() === 0 ? null : 'raw sockets need root (or CAP_NET_RAW)';

interface Contender {
  readonly name: string;
  readonly description: string;
  readonly unavailable: string | null;
  readonly run: () => Promise<Echo>;
}

const SCENARIOS: readonly {
  name: string;
  title: string;
  baseline: string;
  contenders: readonly Contender[];
}[] = [
  {
    name: 'flood',
    title: `one target, ${FLOOD.window} probes in flight, ${FLOOD.count} probes`,
    baseline: 'ping -f',
    contenders: [
      {
        name: 'engine',
        description: 'sockshard engine: shard → ring → coordinator → raw socket → ring → shard',
        unavailable: root,
        run: () => engineEcho(FLOOD),
      },
      {
        name: 'raw socket alone',
        description: "sockshard's raw socket, demultiplexer and tracker on the main thread, no rings",
        unavailable: root,
        run: () => rawSocketEcho(FLOOD),
      },
      {
        name: 'ping -f',
        description: `iputils ping -f -l ${FLOOD.window}`,
        unavailable: missing('ping'),
        run: () => pingFlood(FLOOD.window, FLOOD.count),
      },
    ],
  },
  {
    name: 'sweep',
    title: `${SWEEP.targets} targets, ${SWEEP.count} probes each at a ${SWEEP.intervalMs} ms period`,
    baseline: 'fping',
    contenders: [
      {
        name: 'engine',
        description: 'sockshard engine, the targets split over the shards',
        unavailable: root,
        run: () => engineEcho(SWEEP),
      },
      {
        name: 'raw socket alone',
        description: "sockshard's raw socket alone on the main thread",
        unavailable: root,
        run: () => rawSocketEcho(SWEEP),
      },
      {
        name: 'fping',
        description: `fping -C ${SWEEP.count} -p 1 -i 0`,
        unavailable: missing('fping'),
        run: () => fping(SWEEP.targets, SWEEP.count),
      },
    ],
  },
];

const report = new ReportBuilder('icmp', 'ICMP echo: sockshard against ping -f and fping', args)
  .settings({
    floodProbes: FLOOD.count,
    floodWindow: FLOOD.window,
    sweepTargets: SWEEP.targets,
    sweepProbes: SWEEP.count,
  })
  .note(
    'CPU per round trip: the engine and the raw socket run in this process (main thread = coordinator, shards by name); ping and fping are child processes (their whole CPU).',
    'ping -f prints no per-reply times: its row has only the average (avg_ms).',
  );
for (const s of SCENARIOS) {
  report.scenario({
    name: s.name,
    title: s.title,
    unit: 'round trips/s',
    operation: 'round trip',
    baseline: s.baseline,
  });
  for (const c of s.contenders)
    if (c.unavailable !== null) report.skip(s.name, c.name, c.description, c.unavailable);
}
report.scenario({
  name: 'per-packet',
  title: 'per-packet work on one thread',
  unit: 'ns',
  higherIsBetter: false,
  operation: 'operation',
});

for (let run = 1; run <= args.runs; run++) {
  process.stdout.write(`run ${run}/${args.runs}:`);
  for (const s of SCENARIOS) {
    for (const c of s.contenders.filter((contender) => contender.unavailable === null)) {
      const echo = await c.run();
      const summary = echo.latency?.summaryMs() ?? null;
      report.add(s.name, c.name, c.description, {
        value: echo.received / echo.seconds,
        metrics: {
          loss_percent: ((echo.sent - echo.received) * 100) / echo.sent,
          ...(summary === null ? {} : { p50_ms: summary.p50, p99_ms: summary.p99 }),
          ...(echo.avgMs === null ? {} : { avg_ms: echo.avgMs }),
        },
        cpu: perOperation(echo.cpu, echo.received),
      });
      process.stdout.write(` ${s.name}:${c.name}`);
    }
  }
  for (const [operation, nanos] of Object.entries(micro())) {
    report.add('per-packet', operation, operation, { value: nanos });
  }
  process.stdout.write('\n');
}

report
  .ratio('echo_vs_fping', 'sweep: engine / fping', { atLeast: 0.5, key: true })
  .ratio('echo_vs_ping_flood', 'flood: engine / ping -f', { key: true })
  .ratio('engine_vs_raw_socket_flood', 'flood: engine / raw socket alone')
  .ratio('engine_vs_raw_socket_sweep', 'sweep: engine / raw socket alone')
  .ratio('sweep_cpu_vs_fping', 'sweep cpu.server: engine / fping', { key: true })
  .ratio('flood_cpu_vs_ping', 'flood cpu.server: engine / ping -f')
  .figure('sweep_coordinator_us_per_round_trip', 'µs', 'sweep cpu.coordinator: engine', { key: true })
  .write();
