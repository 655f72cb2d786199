/**
 * Restart benchmark: how long a shard killed by its handler (`process.exit`) takes to serve again, with a
 * spare shard worker standing by (`restart.spare`, the default) and without one (a cold start: a new
 * thread and its imports), side by side in the same run; and the engine's RSS with and without the spare.
 *
 *   npm run bench:restart [-- --quick] [-- --runs N]
 *
 * The engine runs from its build (dist/, built here first), as users run it: from the TypeScript sources
 * every start would also pay for tsx's transform. Each contender is its own engine of 2 shards in this
 * process; a run kills a shard KILLS times and times, for each death, the interval from the "exit"
 * command to the engine's `shard-online` for that shard. Contenders take turns within each run. Writes
 * bench/results/restart.json with `restart_spare_vs_cold` (lower is better) and `rss_spare_vs_cold`.
 */
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { Engine } from '../src/index.js';
import { spareStandingBy } from './lib/engine.js';
import { benchArgs, printTable, type Series, series, writeResults } from './lib/report.js';

const args = benchArgs(3, 2);
const KILLS = args.quick ? 4 : 10;
const SETTLE_MS = 300;
const MODES = ['spare', 'cold'] as const;
type Mode = (typeof MODES)[number];

execFileSync('npm', ['run', '--silent', 'build'], {
  cwd: fileURLToPath(new URL('..', import.meta.url)),
  stdio: 'inherit',
});
const { createEngine } = (await import(
  new URL('../dist/src/index.js', import.meta.url).href
)) as typeof import('../src/index.js');
const handler = new URL('./restart/mortal.mjs', import.meta.url);

/** One session: its shard, and a way to send it a command. */
async function session(port: number): Promise<{ shard: number; socket: net.Socket }> {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => {});
  socket.setEncoding('utf8');
  socket.write('whoami');
  const [line] = (await once(socket, 'data')) as [string];
  return { shard: Number(line.trim()), socket };
}

async function measure(mode: Mode): Promise<{ restartMs: number[]; rssMiB: number }> {
  const engine: Engine = createEngine({
    shards: 2,
    // No back-off: this measures the restart itself, not the policy that spaces repeated ones.
    restart: { maxRestarts: 1_000, backoffMs: 0, spare: mode === 'spare' },
  }).tcp({ port: 0, handler, balance: 'round-robin' });
  engine.on('error', () => {}); // each kill reports ERR_SHARD_EXIT: expected here
  await engine.start();
  try {
    if (mode === 'spare') await spareStandingBy(engine);
    await delay(SETTLE_MS);
    const rssMiB = process.memoryUsage().rss / 2 ** 20;
    const port = engine.addresses()[0]!.port;
    const restartMs: number[] = [];
    for (let kill = 0; kill < KILLS; kill++) {
      const { shard, socket } = await session(port);
      const back = new Promise<number>((resolve) => {
        const onOnline = (shardId: number) => {
          if (shardId !== shard) return;
          engine.off('shard-online', onOnline);
          resolve(performance.now());
        };
        engine.on('shard-online', onOnline);
      });
      const sent = performance.now();
      socket.write('exit');
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${mode}: shard ${shard} not back within 10 s`)), 10_000);
      });
      try {
        restartMs.push((await Promise.race([back, timeout])) - sent);
      } finally {
        clearTimeout(timer);
      }
      socket.destroy();
      if (mode === 'spare') await spareStandingBy(engine);
      await delay(SETTLE_MS);
    }
    return { restartMs, rssMiB };
  } finally {
    await engine.close({ timeoutMs: 200 });
  }
}

const restartMs: Record<Mode, number[]> = { spare: [], cold: [] };
const rssMiB: Record<Mode, number[]> = { spare: [], cold: [] };
for (let run = 1; run <= args.runs; run++) {
  process.stdout.write(`run ${run}/${args.runs}:`);
  for (const mode of run % 2 === 1 ? MODES : [...MODES].reverse()) {
    const result = await measure(mode);
    // The median death of this run: one figure per run, like every other benchmark here.
    restartMs[mode].push(series(result.restartMs).median);
    rssMiB[mode].push(result.rssMiB);
    process.stdout.write(` ${mode}`);
  }
  process.stdout.write('\n');
}

const results = Object.fromEntries(
  MODES.map((mode) => [mode, { restartMs: series(restartMs[mode]), rssMiB: series(rssMiB[mode]) }]),
) as Record<Mode, { restartMs: Series; rssMiB: Series }>;
const ratios = {
  restart_spare_vs_cold: results.spare.restartMs.median / results.cold.restartMs.median,
  rss_spare_vs_cold: results.spare.rssMiB.median / results.cold.rssMiB.median,
};
printTable(
  `a shard killed by process.exit until it serves again; 2 shards, ${KILLS} kills per run, median of ${args.runs} runs (built engine, dist/)`,
  MODES.map((mode) => ({
    contender: mode === 'spare' ? 'spare worker standing by (default)' : 'cold start (restart.spare: false)',
    'restart ms (median)': results[mode].restartMs.median.toFixed(1),
    'min-max': `${results[mode].restartMs.min.toFixed(1)}-${results[mode].restartMs.max.toFixed(1)}`,
    'RSS MiB': results[mode].rssMiB.median.toFixed(1),
  })),
);
printTable(
  'ratios (spare / cold)',
  Object.entries(ratios).map(([name, value]) => ({ name, value: value.toFixed(2) })),
);
const file = writeResults('restart', { quick: args.quick, runs: args.runs, kills: KILLS, results, ratios });
console.log(`\nwrote ${file}`);
