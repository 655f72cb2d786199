/**
 * Restart benchmark: how long a shard killed by its handler (`process.exit`) takes to serve again, with a
 * spare shard worker standing by (`restart.spare`, the default) and cold (a new thread and its imports),
 * the engine's RSS with and without the spare, and the process's CPU per restart.
 *
 *   npm run bench:restart [-- --quick] [-- --runs N]
 *
 * The engine runs from its build (dist/, built here first), as users run it: from the TypeScript sources
 * every start would also pay for tsx's transform. Each contender is an engine of 2 shards in this process;
 * a run kills a shard KILLS times and times each from the "exit" command to the engine's `shard-online`.
 */
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import type { Engine } from '../src/index.js';
import { benchArgs } from './lib/args.js';
import { REPO_ROOT } from './lib/children.js';
import { CpuMeter, serverRoles } from './lib/cpu.js';
import { spareStandingBy } from './lib/engine.js';
import { median, ReportBuilder } from './lib/report.js';

const args = benchArgs({ usage: 'npm run bench:restart -- [options]', runs: 3 });
const KILLS = 10;
const SETTLE_MS = 300;
const MODES = [
  { name: 'spare', description: 'a spare worker stands by (the default)' },
  { name: 'cold', description: 'cold start (restart.spare: false)' },
] as const;

execFileSync('npm', ['run', '--silent', 'build'], { cwd: REPO_ROOT, stdio: 'inherit' });
const { createEngine } = (await import(
  new URL('../dist/src/index.js', import.meta.url).href
)) as typeof import('../src/index.js');
const handler = new URL('./restart/mortal.mjs', import.meta.url);

async function shardOf(port: number): Promise<{ shard: number; socket: net.Socket }> {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => {});
  socket.setEncoding('utf8');
  socket.write('whoami');
  const [line] = (await once(socket, 'data')) as [string];
  return { shard: Number(line.trim()), socket };
}

async function measure(spare: boolean): Promise<{ restartMs: number; rssMiB: number; cpuUs: number }> {
  const engine: Engine = createEngine({
    shards: 2,
    // No back-off: this measures the restart itself, not the policy that spaces repeated ones.
    restart: { maxRestarts: 1_000, backoffMs: 0, spare },
  }).tcp({ port: 0, handler, balance: 'round-robin' });
  engine.on('error', () => {}); // each kill reports ERR_SHARD_EXIT: expected here
  await engine.start();
  try {
    if (spare) await spareStandingBy(engine);
    await delay(SETTLE_MS);
    const rssMiB = process.memoryUsage().rss / 2 ** 20;
    const port = engine.addresses()[0]!.port;
    const times: number[] = [];
    const meter = new CpuMeter([process.pid], serverRoles([process.pid], 'coordinator'));
    meter.start();
    for (let kill = 0; kill < KILLS; kill++) {
      const { shard, socket } = await shardOf(port);
      const online = new Promise<number>((resolve) => {
        const onOnline = (id: number) => {
          if (id !== shard) return;
          engine.off('shard-online', onOnline);
          resolve(performance.now());
        };
        engine.on('shard-online', onOnline);
      });
      const sent = performance.now();
      socket.write('exit');
      const back = await Promise.race([online, delay(10_000).then(() => Number.NaN)]);
      if (Number.isNaN(back)) throw new Error(`shard ${shard} not back within 10 s`);
      times.push(back - sent);
      socket.destroy();
      // The replacement spare starts now: counted in the CPU per restart, kept out of the next timing.
      if (spare) await spareStandingBy(engine);
      await delay(SETTLE_MS);
    }
    const cpu = meter.stop();
    return { restartMs: median(times), rssMiB, cpuUs: (cpu.byRole.server! * 1e6) / KILLS };
  } finally {
    await engine.close({ timeoutMs: 200 });
  }
}

const report = new ReportBuilder(
  'restart',
  "Restart: a dead shard's time back to serving, with the spare and cold",
  args,
)
  .settings({ shards: 2, killsPerRun: KILLS, engine: 'dist/ (built)' })
  .note(
    `Each run kills a shard ${KILLS} times per contender; a run's figure is the median of its kills. CPU per restart: this whole process, the replacement spare's start included.`,
  )
  .scenario({
    name: 'restart',
    title: 'a shard killed by process.exit, until it serves again',
    unit: 'ms',
    higherIsBetter: false,
    operation: 'restart',
  });
for (let run = 1; run <= args.runs; run++) {
  process.stdout.write(`run ${run}/${args.runs}:`);
  for (const mode of run % 2 === 1 ? MODES : [...MODES].reverse()) {
    const result = await measure(mode.name === 'spare');
    report.add('restart', mode.name, mode.description, {
      value: result.restartMs,
      metrics: { rss_mib: result.rssMiB },
      cpu: { server: result.cpuUs },
    });
    process.stdout.write(` ${mode.name}`);
  }
  process.stdout.write('\n');
}
report
  .ratio('restart_spare_vs_cold', 'restart: spare / cold', { key: true })
  .ratio('rss_spare_vs_cold', 'restart metrics.rss_mib: spare / cold')
  .figure('restart_spare_ms', 'ms', 'restart: spare', { atMost: 1000, key: true })
  .write();
