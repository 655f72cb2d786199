/**
 * UDP benchmark: echoed datagrams per second and drop rate, 64-byte and 1200-byte datagrams, for
 * sockshard with N shards on N ports (node:dgram path and the native batched path), sockshard with
 * reusePort on one port, and single-threaded node:dgram echo on the same N ports.
 *
 *   npm run bench:udp [-- --quick] [-- --runs N]
 *
 * Fairness: every server runs in its own process; the load generator is a small C program (compiled here
 * with the system's cc) in its own process, batched with sendmmsg/recvmmsg so that it costs about a
 * tenth of a Node server per datagram, with the same flows (8 sockets, 32 datagrams in flight each) for
 * every contender. It shares the 2 cores with the server, the same way for all. Contenders take turns
 * within each run; figures are medians. Writes bench/results/udp.json.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchArgs, printTable, type Series, series, si, writeResults } from './lib/report.js';

interface LoadResult {
  seconds: number;
  sent: number;
  received: number;
  lost: number;
  inFlight: number;
  short: number;
  refused: number;
  flows: number;
  perSecond: number;
}

interface Contender {
  readonly name: string;
  readonly server: (ports: number[]) => { command: string; args: string[] };
  /** Ports the server listens on (0 = any) and flows per port, so that every contender gets 8 flows. */
  readonly ports: number;
}

const args = benchArgs(3);
const SHARDS = os.availableParallelism();
const SIZES = [64, 1200] as const;
const SECONDS = args.quick ? 2 : 5;
const WINDOW = 32;
const FLOWS = 8;
const tsx = fileURLToPath(new URL('../node_modules/tsx/dist/cli.mjs', import.meta.url));
const here = (file: string) => fileURLToPath(new URL(`./udp/${file}`, import.meta.url));

const CONTENDERS: Contender[] = [
  {
    name: `node:dgram, 1 thread, ${SHARDS} ports`,
    ports: SHARDS,
    server: (ports) => ({ command: process.execPath, args: [tsx, here('dgram-server.ts'), ports.join(',')] }),
  },
  {
    name: `sockshard, ${SHARDS} shards, ${SHARDS} ports`,
    ports: SHARDS,
    server: (ports) => ({
      command: process.execPath,
      args: [tsx, here('sockshard-server.ts'), ports.join(','), String(SHARDS), 'false', 'dgram'],
    }),
  },
  {
    name: `sockshard, ${SHARDS} shards, reusePort, 1 port`,
    ports: 1,
    server: (ports) => ({
      command: process.execPath,
      args: [tsx, here('sockshard-server.ts'), ports.join(','), String(SHARDS), 'true', 'dgram'],
    }),
  },
  {
    name: `sockshard batched, ${SHARDS} shards, ${SHARDS} ports`,
    ports: SHARDS,
    server: (ports) => ({
      command: process.execPath,
      args: [tsx, here('sockshard-server.ts'), ports.join(','), String(SHARDS), 'false', 'batched'],
    }),
  },
];

function buildLoadGenerator(): string {
  const binary = join(os.tmpdir(), `sockshard-udp-loadgen-${process.pid}`);
  try {
    execFileSync('cc', ['-O2', '-o', binary, here('loadgen.c')], { stdio: 'inherit' });
  } catch (error) {
    throw new Error(`the UDP load generator needs a C compiler (cc): ${(error as Error).message}`);
  }
  return binary;
}

async function startServer(contender: Contender): Promise<{ child: ChildProcess; ports: number[] }> {
  // Ports the kernel picks in the server (0): sockshard maps `port % shards`, so ask for consecutive
  // free ports instead, to give each shard exactly one.
  const base = 42_000 + Math.floor(Math.random() * 10_000);
  const wanted = Array.from({ length: contender.ports }, (_, i) => base + i);
  const { command, args: argv } = contender.server(wanted);
  const child = spawn(command, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await Promise.race([
    once(child.stdout!, 'data'),
    once(child, 'exit').then(([code]) => {
      throw new Error(`${contender.name} exited with ${String(code)} before serving`);
    }),
  ])) as [Buffer];
  return { child, ports: (JSON.parse(line.toString()) as { ports: number[] }).ports };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
  await exited;
  clearTimeout(timer);
}

function load(binary: string, ports: number[], size: number, seconds: number): LoadResult {
  const perPort = Math.max(1, Math.floor(FLOWS / ports.length));
  const out = execFileSync(
    binary,
    ['127.0.0.1', ports.join(','), String(size), String(seconds), String(WINDOW), String(perPort)],
    { timeout: (seconds + 10) * 1000 },
  );
  return JSON.parse(out.toString()) as LoadResult;
}

const binary = buildLoadGenerator();
const children = new Set<ChildProcess>();
process.once('SIGINT', () => {
  for (const child of children) child.kill('SIGKILL');
  process.exit(130);
});

const figures: Record<string, { perSecond: number[]; dropRate: number[] }> = {};
try {
  for (let run = 1; run <= args.runs; run++) {
    process.stdout.write(`run ${run}/${args.runs}:`);
    for (const size of SIZES) {
      for (const contender of CONTENDERS) {
        const { child, ports } = await startServer(contender);
        children.add(child);
        try {
          load(binary, ports, size, 0.5); // warm-up: JIT, socket buffers
          const result = load(binary, ports, size, SECONDS);
          if (result.short > 0) throw new Error(`${contender.name}: ${result.short} short replies`);
          const key = `${contender.name} | ${size}`;
          figures[key] ??= { perSecond: [], dropRate: [] };
          figures[key].perSecond.push(result.perSecond);
          figures[key].dropRate.push(result.lost / Math.max(1, result.sent));
        } finally {
          await stop(child);
          children.delete(child);
        }
        process.stdout.write('.');
      }
    }
    process.stdout.write('\n');
  }
} finally {
  for (const child of children) child.kill('SIGKILL');
}

const results: Record<string, { perSecond: Series; dropRate: Series }> = {};
for (const [key, value] of Object.entries(figures)) {
  results[key] = { perSecond: series(value.perSecond), dropRate: series(value.dropRate) };
}
const rate = (contender: Contender, size: number) => results[`${contender.name} | ${size}`]!.perSecond.median;
const [dgram, sharded, reuse, batched] = CONTENDERS as [Contender, Contender, Contender, Contender];
const ratios = {
  echo64_vs_dgram: rate(sharded, 64) / rate(dgram, 64),
  echo1200_vs_dgram: rate(sharded, 1200) / rate(dgram, 1200),
  batched64_vs_dgram: rate(batched, 64) / rate(dgram, 64),
  batched1200_vs_dgram: rate(batched, 1200) / rate(dgram, 1200),
  batched_vs_dgram_path: rate(batched, 64) / rate(sharded, 64),
  reuseport64_vs_dgram: rate(reuse, 64) / rate(dgram, 64),
  reuseport1200_vs_dgram: rate(reuse, 1200) / rate(dgram, 1200),
};
for (const size of SIZES) {
  printTable(
    `${size}-byte datagrams echoed (median of ${args.runs} runs of ${SECONDS} s; ${FLOWS} flows x ${WINDOW} in flight)`,
    CONTENDERS.map((contender) => {
      const r = results[`${contender.name} | ${size}`]!;
      return {
        contender: contender.name,
        'echoed/s': si(r.perSecond.median),
        'min-max': `${si(r.perSecond.min)}-${si(r.perSecond.max)}`,
        'drop rate': `${(r.dropRate.median * 100).toFixed(3)}%`,
        'vs node:dgram': (r.perSecond.median / rate(dgram, size)).toFixed(2),
      };
    }),
  );
}
printTable(
  'ratios',
  Object.entries(ratios).map(([name, value]) => ({ name, value: value.toFixed(2) })),
);
const file = writeResults('udp', {
  quick: args.quick,
  runs: args.runs,
  seconds: SECONDS,
  flows: FLOWS,
  window: WINDOW,
  shards: SHARDS,
  loadGenerator: 'bench/udp/loadgen.c (sendmmsg/recvmmsg, closed loop, own process)',
  results,
  ratios,
});
console.log(`\nwrote ${file}`);
