/**
 * UDP benchmark: 64- and 1200-byte datagrams echoed per second, the drop rate and the server's CPU per
 * datagram by thread, for sockshard with a port per shard (the node:dgram path and the native batched
 * path), sockshard with every shard on one port (SO_REUSEPORT), and node:dgram on one thread.
 *
 *   npm run bench:udp [-- --quick] [-- --runs N]
 *
 * Fairness: a fresh server process per measurement; the load generator is a small C program (built here
 * with the system's cc) batched with sendmmsg/recvmmsg so that it costs a fraction of a server per
 * datagram, the same 8 flows of 32 datagrams in flight for every contender. Contenders take turns.
 */
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchArgs } from './lib/args.js';
import { Child, commandExists, nodeCommand, startServer } from './lib/children.js';
import { perOperation } from './lib/cpu.js';
import { ReportBuilder } from './lib/report.js';

const args = benchArgs({ usage: 'npm run bench:udp -- [options]', runs: 3 });
const N = os.availableParallelism();
const [SECONDS, WARMUP_SECONDS, WINDOW, FLOWS] = [5, 1, 32, 8];
const CONTENDERS = [
  ['node-dgram', `node:dgram on one thread, ${N} ports`, { kind: 'dgram', ports: N }],
  [
    'sockshard',
    `sockshard, ${N} shards, a port each (node:dgram in shards)`,
    { kind: 'sockshard', ports: N },
  ],
  [
    'sockshard-reuseport',
    `sockshard, ${N} shards on one port (SO_REUSEPORT)`,
    { kind: 'sockshard', ports: 1, reusePort: true },
  ],
  [
    'sockshard-batched',
    `sockshard, ${N} shards, io 'batched' (recvmmsg/sendmmsg)`,
    { kind: 'sockshard', ports: N, io: 'batched' },
  ],
] as const;

if (!commandExists('cc')) throw new Error('the UDP load generator needs a C compiler (cc)');
const loadgen = join(os.tmpdir(), `sockshard-udp-loadgen-${process.pid}`);
execFileSync('cc', ['-O2', '-o', loadgen, fileURLToPath(new URL('./udp/loadgen.c', import.meta.url))]);
process.once('exit', () => rmSync(loadgen, { force: true }));

async function load(ports: readonly number[], size: number, seconds: number) {
  const flows = String(Math.max(1, Math.floor(FLOWS / ports.length)));
  const child = new Child('loadgen', [
    loadgen,
    '127.0.0.1',
    ports.join(','),
    `${size}`,
    `${seconds}`,
    `${WINDOW}`,
    flows,
  ]);
  try {
    type Result = {
      seconds: number;
      sent: number;
      received: number;
      lost: number;
      short: number;
      cpuSeconds: number;
    };
    return await child.json<Result>((seconds + 10) * 1000);
  } finally {
    await child.stop();
  }
}

const report = new ReportBuilder('udp', 'UDP echo: sockshard against node:dgram on one thread', args)
  .settings({ seconds: SECONDS, warmupSeconds: WARMUP_SECONDS, flows: FLOWS, window: WINDOW, shards: N })
  .note(
    `Each measurement: a fresh server, ${WARMUP_SECONDS} s of the same load, then ${SECONDS} s measured: ${FLOWS} flows (sockets) of ${WINDOW} datagrams in flight, spread over the ports, from bench/udp/loadgen.c (sendmmsg/recvmmsg, closed loop, its CPU as generator).`,
  );
for (const size of [64, 1200]) {
  const title = `${size}-byte datagrams echoed`;
  report.scenario({
    name: `echo-${size}`,
    title,
    unit: 'datagrams/s',
    operation: 'datagram',
    baseline: 'node-dgram',
  });
}

for (let run = 1; run <= args.runs; run++) {
  process.stdout.write(`run ${run}/${args.runs}:`);
  for (const size of [64, 1200]) {
    for (const [name, description, config] of CONTENDERS) {
      const command = nodeCommand(new URL('./udp/server.ts', import.meta.url), [
        JSON.stringify({ shards: N, ...config }),
      ]);
      const server = await startServer(name, command, {
        mainRole: config.kind === 'dgram' ? 'main' : 'coordinator',
      });
      try {
        await load(server.ports, size, WARMUP_SECONDS);
        const meter = server.meter();
        meter.start();
        const result = await load(server.ports, size, SECONDS);
        const { byRole } = meter.stop();
        if (result.short > 0) throw new Error(`${name}: ${result.short} short replies`);
        report.add(`echo-${size}`, name, description, {
          value: result.received / result.seconds,
          metrics: { drop_percent: (result.lost * 100) / Math.max(1, result.sent) },
          cpu: perOperation({ ...byRole, generator: result.cpuSeconds }, result.received),
        });
      } finally {
        await server.stop();
      }
      process.stdout.write('.');
    }
  }
  process.stdout.write('\n');
}

for (const size of [64, 1200]) {
  const key = size === 64;
  report
    .ratio(`echo${size}_vs_dgram`, `echo-${size}: sockshard / node-dgram`, {
      key,
      ...(key && { atLeast: 1.3 }),
    })
    .ratio(`batched${size}_vs_dgram`, `echo-${size}: sockshard-batched / node-dgram`, {
      key,
      ...(key && { atLeast: 2 }),
    })
    .ratio(`reuseport${size}_vs_dgram`, `echo-${size}: sockshard-reuseport / node-dgram`)
    .ratio(`echo${size}_cpu_vs_dgram`, `echo-${size} cpu.server: sockshard / node-dgram`, { key })
    .ratio(`batched${size}_cpu_vs_dgram`, `echo-${size} cpu.server: sockshard-batched / node-dgram`, { key });
}
report.write();
