/**
 * Reload benchmark: what a deploy costs the clients of a server under keep-alive load. In one window of
 * wrk load (every failed request counted: refused, reset, timed out, not 2xx) a deploy starts a fixed time
 * in, and the window is set beside the same window with no deploy:
 *
 * - `sockshard-reload`: a rolling reload of a 2-shard engine (`engine.reload()`, on SIGHUP);
 * - `sockshard-handover`: a second process started with the same `handover: { path }` takes the sockets
 *   over, and the first drains and exits;
 * - `cluster-restart`: node:cluster with 2 workers restarted as users write it (each worker killed, a new
 *   one forked once it has exited, the next when that one listens): the baseline;
 * - `sockshard-steady`, `cluster-steady`: the same windows with no deploy.
 *
 *   npm run bench:reload [-- --quick] [-- --runs N] [-- --seconds S] [-- --at S] [-- --connections N]
 *
 * Every contender gets a fresh server per window (a deploy changes it), warmed up with the same load first.
 * sockshard runs from its build (dist/, built here first), as users run it. CPU per request by thread
 * counts every thread and process that served in the window, those that ended in it (retired shards, the
 * handed-over process, killed workers) up to their last reading, and those started in it (replacements,
 * the successor, forked workers) whole: a deploy's own work is in it.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { benchArgs, numberArg } from './lib/args.js';
import { commandExists, nodeCommand, REPO_ROOT, type Server, startServer } from './lib/children.js';
import { CpuMeter, disturbance, perOperation } from './lib/cpu.js';
import { ReportBuilder } from './lib/report.js';
import { runWrk, type WrkResult } from './lib/wrk.js';

const args = benchArgs({
  usage: `npm run bench:reload -- [options]
  --seconds S       the measured window (default 6)
  --at S            the deploy starts this far into it (default 2)
  --warmup S        warm-up seconds before each window, with the same load (default 1)
  --connections N   keep-alive connections (default 50)`,
  runs: 3,
  options: {
    seconds: { type: 'string' },
    at: { type: 'string' },
    warmup: { type: 'string' },
    connections: { type: 'string' },
  },
});
const SECONDS = numberArg(args.values, 'seconds', 6);
const DEPLOY_AT = numberArg(args.values, 'at', 2);
const WARMUP = numberArg(args.values, 'warmup', 1);
const CONNECTIONS = numberArg(args.values, 'connections', 50);
const SHARDS = 2;
/** How often every thread's CPU is read, so that a thread that ends in the window is counted. */
const POLL_MS = 20;
/** Cores used by other processes during a window beyond which it is flagged as disturbed (as bench/http). */

type Deploy = 'none' | 'reload' | 'handover' | 'restart';
interface Contender {
  readonly name: string;
  readonly description: string;
  readonly server: 'sockshard' | 'cluster';
  readonly deploy: Deploy;
}
const CONTENDERS: readonly Contender[] = [
  {
    name: 'sockshard-steady',
    description: `sockshard, ${SHARDS} shards: no deploy in the window`,
    server: 'sockshard',
    deploy: 'none',
  },
  {
    name: 'sockshard-reload',
    description: `sockshard, ${SHARDS} shards: a rolling reload (engine.reload()) in the window`,
    server: 'sockshard',
    deploy: 'reload',
  },
  {
    name: 'sockshard-handover',
    description: `sockshard, ${SHARDS} shards: a second process takes over (handover: { path }), the first drains and exits`,
    server: 'sockshard',
    deploy: 'handover',
  },
  {
    name: 'cluster-steady',
    description: `node:cluster, ${SHARDS} workers: no restart in the window`,
    server: 'cluster',
    deploy: 'none',
  },
  {
    name: 'cluster-restart',
    description: `node:cluster, ${SHARDS} workers: each in turn killed (worker.kill()) and a new one forked once it exited`,
    server: 'cluster',
    deploy: 'restart',
  },
];

const SCENARIO = 'keepalive';
const report = new ReportBuilder(
  'reload',
  'Deploys under load: rolling reload and process hand-over against a node:cluster restart',
  args,
)
  .settings({
    seconds: SECONDS,
    deployAtSeconds: DEPLOY_AT,
    warmupSeconds: WARMUP,
    connections: CONNECTIONS,
    shards: SHARDS,
    generator: 'wrk 4 (1 thread), bench/lib/wrk.lua',
    engine: 'dist/ (built)',
  })
  .note(
    `Each window: a fresh server, ${WARMUP} s of the same load to warm up, then ${SECONDS} s of wrk (1 thread, ${CONNECTIONS} keep-alive connections, a request unanswered for 2 s is a timeout); the deploy starts ${DEPLOY_AT} s in. Contenders take turns, the first rotating each run.`,
    'failed_requests: every request wrk saw fail: answers that are not 2xx (non2xx), resets or a close before the answer (read), refused connections (write: wrk learns of one when it writes, and counts every attempt), timeouts; the notes say which, run by run. Latency: the response times wrk measured (p50, p99, max; not the figures wrk prints, which it corrects for coordinated omission: see bench/lib/wrk.lua), keep-alive, over the whole window; a reconnect after a drain is not in them. req/s: 2xx answers over the window.',
    'deploy_ms: from the signal (the start of the successor, for the hand-over) until the deploy is over: reload() resolved (every old shard drained), the old process exited, the last new worker listens.',
    `CPU per request: every thread of every process that served in the window, read every ${POLL_MS} ms (a thread that ended counts up to its last reading), over the window's 2xx answers; the deploy's own work (new workers, the successor process and its imports) is in it. The servers' main processes run under tsx (about 0.13 s of CPU at a process's start, paid by the hand-over's successor; a compiled app would not); the handler modules, the engine (dist/) and node:cluster's workers are plain JavaScript.`,
  )
  .scenario({
    name: SCENARIO,
    title: `keep-alive load, ${CONNECTIONS} connections, ${SECONDS} s windows, a deploy ${DEPLOY_AT} s in`,
    unit: 'req/s',
    operation: 'request',
    baseline: 'cluster-restart',
  });

const command = (contender: Contender, handover: string) =>
  contender.server === 'sockshard'
    ? nodeCommand(new URL('./reload/server-sockshard.ts', import.meta.url), [
        JSON.stringify({ shards: SHARDS, handover }),
      ])
    : nodeCommand(new URL('./reload/server-cluster.ts', import.meta.url), [
        JSON.stringify({ workers: SHARDS }),
      ]);

/** The deploy itself, `DEPLOY_AT` s into the window; resolves when it is over, with its milliseconds. */
async function deploy(
  contender: Contender,
  first: Server,
  started: (server: Server) => void,
  forked: (pid: number, slot: number) => void,
  handover: string,
): Promise<number> {
  const began = performance.now();
  switch (contender.deploy) {
    case 'reload': {
      first.child.process.kill('SIGHUP');
      const said = await first.child.json<{ reloaded?: number; reloadFailed?: string }>(30_000);
      if (said.reloaded === undefined) throw new Error(`the reload failed: ${said.reloadFailed}`);
      break;
    }
    case 'handover': {
      const successor = await startServer(`${contender.name} successor`, command(contender, handover), {
        mainRole: 'coordinator',
      });
      started(successor);
      await first.child.json<{ handedOver: number }>(30_000);
      await first.child.exited;
      break;
    }
    case 'restart': {
      first.child.process.kill('SIGHUP');
      for (;;) {
        const said = await first.child.json<{ forked?: number; slot?: number; restarted?: boolean }>(30_000);
        if (said.forked !== undefined) forked(said.forked, said.slot!);
        if (said.restarted === true) break;
      }
      break;
    }
    case 'none':
      break;
  }
  return performance.now() - began;
}

const failureNote = (what: string, result: WrkResult) =>
  result.failed === 0
    ? []
    : [
        `${what}: ${Object.entries(result.failures)
          .filter(([, count]) => count > 0)
          .map(([kind, count]) => `${count} ${kind}`)
          .join(', ')}`,
      ];

async function measure(contender: Contender, run: number, dir: string): Promise<void> {
  const handover = join(dir, `${contender.name}-${run}.sock`);
  const mainRole = contender.server === 'sockshard' ? 'coordinator' : 'primary';
  const first = await startServer(contender.name, command(contender, handover), { mainRole });
  const servers = [first];
  try {
    const url = `http://127.0.0.1:${first.port}/`;
    const warm = await runWrk({ url, connections: CONNECTIONS, seconds: WARMUP });
    // Roles: each process's own (the successor's threads by its own registrations); node:cluster's
    // workers by the slot they serve in, the ones forked in the window too.
    const slots = new Map(first.pids.slice(1).map((pid, slot) => [pid, slot]));
    const roleOf = (pid: number, tid: number): string => {
      const server = servers.find((s) => s.pids[0] === pid);
      if (server !== undefined) return server.roleOf(pid, tid);
      return slots.has(pid) ? `worker${slots.get(pid)}` : 'other';
    };
    const meter = new CpuMeter(first.pids, roleOf, POLL_MS);
    meter.start();
    const load = runWrk({ url, connections: CONNECTIONS, seconds: SECONDS });
    let deployMs: number | null = null;
    if (contender.deploy !== 'none') {
      await delay(DEPLOY_AT * 1000);
      deployMs = await deploy(
        contender,
        first,
        (successor) => {
          servers.push(successor);
          meter.follow(successor.pids[0]!);
        },
        (pid, slot) => {
          slots.set(pid, slot);
          meter.follow(pid);
        },
        handover,
      );
    }
    const result = await load;
    const use = meter.stop();
    const { byRole, wallSeconds } = use;
    const { notes: disturbed } = disturbance(use, result.cpuSeconds);
    const notes = [
      ...failureNote('failed in the warm-up', warm),
      ...failureNote(`run ${run + 1}`, result),
      ...disturbed,
    ];
    if (result.cpuSeconds / wallSeconds > 0.9)
      notes.push('the load generator used a whole core: it may be the limit');
    if (deployMs !== null && deployMs > (SECONDS - DEPLOY_AT) * 1000)
      notes.push(`the deploy outlasted the window (${deployMs.toFixed(0)} ms)`);
    report.add(SCENARIO, contender.name, contender.description, {
      value: result.ok / result.seconds,
      metrics: {
        p50_ms: result.p50Ms,
        p99_ms: result.p99Ms,
        max_ms: result.maxMs,
        failed_requests: result.failed,
        ...(deployMs === null ? {} : { deploy_ms: deployMs }),
        server_cores: byRole.server! / wallSeconds,
      },
      cpu: perOperation({ ...byRole, generator: result.cpuSeconds }, result.ok),
      notes,
    });
    console.log(
      `  ${contender.name}: ${(result.ok / result.seconds).toFixed(0)} req/s, p99 ${result.p99Ms.toFixed(2)} ms, ${result.failed} failed${deployMs === null ? '' : `, deploy ${deployMs.toFixed(0)} ms`}`,
    );
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
  }
}

if (!commandExists('wrk')) {
  for (const { name, description } of CONTENDERS) {
    report.skip(SCENARIO, name, description, 'wrk is not installed (Debian: apt-get install wrk)');
  }
} else {
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: REPO_ROOT, stdio: 'inherit' });
  console.log(
    `Deploys under load on ${os.availableParallelism()} cores, Node ${process.version}: ${CONTENDERS.map((c) => c.name).join(', ')}`,
  );
  const dir = mkdtempSync(join(os.tmpdir(), 'sockshard-bench-reload-'));
  try {
    for (let run = 0; run < args.runs; run++) {
      console.log(`run ${run + 1}/${args.runs}`);
      const turn = run % CONTENDERS.length;
      for (const contender of [...CONTENDERS.slice(turn), ...CONTENDERS.slice(0, turn)]) {
        await measure(contender, run, dir);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const failures = (contender: string) => ({
  explain: `requests that failed (refused, reset, timed out, not 2xx) in a window with ${contender}`,
  higherIsBetter: false,
});
report
  .ratio('reload_p99_vs_steady', `${SCENARIO} metrics.p99_ms: sockshard-reload / sockshard-steady`, {
    higherIsBetter: false,
    key: true,
  })
  .ratio('handover_p99_vs_steady', `${SCENARIO} metrics.p99_ms: sockshard-handover / sockshard-steady`, {
    higherIsBetter: false,
    key: true,
  })
  .ratio('cluster_restart_p99_vs_steady', `${SCENARIO} metrics.p99_ms: cluster-restart / cluster-steady`, {
    higherIsBetter: false,
  })
  .ratio('reload_vs_steady', `${SCENARIO}: sockshard-reload / sockshard-steady`)
  .ratio('handover_vs_steady', `${SCENARIO}: sockshard-handover / sockshard-steady`)
  .ratio('cluster_restart_vs_steady', `${SCENARIO}: cluster-restart / cluster-steady`)
  .ratio('reload_cpu_vs_steady', `${SCENARIO} cpu.server: sockshard-reload / sockshard-steady`, { key: true })
  .ratio('handover_cpu_vs_steady', `${SCENARIO} cpu.server: sockshard-handover / sockshard-steady`, {
    key: true,
  })
  .ratio('cluster_restart_cpu_vs_steady', `${SCENARIO} cpu.server: cluster-restart / cluster-steady`)
  .figure('failed_requests_reload', 'requests', `${SCENARIO} metrics.failed_requests: sockshard-reload`, {
    ...failures('a rolling reload'),
    atMost: 0,
    key: true,
  })
  .figure('failed_requests_handover', 'requests', `${SCENARIO} metrics.failed_requests: sockshard-handover`, {
    ...failures('a process hand-over'),
    atMost: 0,
    key: true,
  })
  .figure(
    'cluster_restart_failed_requests',
    'requests',
    `${SCENARIO} metrics.failed_requests: cluster-restart`,
    { ...failures("node:cluster's kill-and-fork restart"), key: true },
  )
  .figure('reload_ms', 'ms', `${SCENARIO} metrics.deploy_ms: sockshard-reload`)
  .figure('handover_ms', 'ms', `${SCENARIO} metrics.deploy_ms: sockshard-handover`)
  .figure('cluster_restart_ms', 'ms', `${SCENARIO} metrics.deploy_ms: cluster-restart`)
  .write();
