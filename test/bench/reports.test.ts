import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { BenchArgs } from '../../bench/lib/args.js';
import { CpuMeter, serverRoles, THREADS_ENV } from '../../bench/lib/cpu.js';
import { renderReadmeTable, renderSection } from '../../bench/lib/render.js';
import { HISTORY_FILE, ReportBuilder, readHistory } from '../../bench/lib/report.js';
import { parseReport, type Report, reportProblems } from '../../bench/lib/schema.js';
import { BENCHMARKS } from '../../src/cli/benchmarks.js';

const root = new URL('../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');
const dirs: string[] = [];
beforeEach(() => {
  vi.spyOn(console, 'log').mockImplementation(() => {}); // write() prints each report's tables
});
afterEach(() => {
  vi.restoreAllMocks();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function args(quick = false): BenchArgs {
  const out = mkdtempSync(join(tmpdir(), 'sockshard-bench-'));
  dirs.push(out);
  return { quick, runs: 3, out, values: {} };
}

/** Two contenders over three runs: the median of the per-run ratios (2) is not the ratio of the medians (1.5). */
function sample(builder: ReportBuilder): ReportBuilder {
  builder.scenario({ name: 'load', title: 'some load', unit: 'op/s', operation: 'op', baseline: 'base' });
  for (const [mine, base] of [
    [10, 5],
    [30, 10],
    [15, 20],
  ] as const) {
    builder.add('load', 'mine', 'the contender', {
      value: mine,
      cpu: { server: 100 / mine, coordinator: 1 },
    });
    builder.add('load', 'base', 'the baseline', { value: base, cpu: { server: 100 / base } });
  }
  builder.skip('load', 'absent', 'a contender that cannot run here', 'needs something');
  return builder
    .ratio('mine_vs_base', 'load: mine / base', { atLeast: 1.5, key: true })
    .ratio('mine_cpu_vs_base', 'load cpu.server: mine / base')
    .ratio('absent_vs_base', 'load: absent / base', { atLeast: 1 })
    .figure('coordinator_cap', 'op/s', 'load cpu.coordinator: mine', {
      map: (us) => 1e6 / us,
      higherIsBetter: true,
    });
}

/**
 * What the issues ask of particular benchmarks: headlines their committed report must have (a value, or why
 * not), and CPU roles every contender that ran must report (the load generator's included).
 */
const ASKED: Readonly<Record<string, { headlines: readonly string[]; cpu: readonly string[] }>> = {
  http: {
    headlines: [
      'fast_keepalive_vs_cluster',
      'fast_keepalive_vs_bun',
      'fast_churn_vs_cluster',
      'fast_cpu_vs_single',
      'keepalive_vs_cluster',
      'churn_vs_cluster',
    ],
    cpu: ['server', 'generator'],
  },
  tls: {
    headlines: [
      'tls_full_vs_cluster',
      'tls_resumed_vs_cluster',
      'resumption_rate',
      'cluster_resumption_rate',
      'h2_vs_cluster',
    ],
    cpu: ['server', 'generator'],
  },
};

describe('every benchmark in src/cli/benchmarks.ts', () => {
  it.each(BENCHMARKS)(
    '$name: its script writes the one schema itself, and its committed report fits it',
    ({ name, script }) => {
      expect(JSON.parse(read('package.json')).scripts[`bench:${name}`]).toBe(`tsx ${script}`);
      // One writer for every benchmark: no per-benchmark report adapters.
      expect(read(script)).toMatch(new RegExp(`new ReportBuilder\\(\\s*'${name}'`));
      const file = `bench/results/${name}.json`;
      expect(existsSync(new URL(file, root)), `${file} is committed`).toBe(true);
      const report = parseReport(JSON.parse(read(file)), file);
      expect(report.benchmark).toBe(name);
      expect(report.scenarios.length).toBeGreaterThan(0);
      expect(report.headlines.some((h) => h.key)).toBe(true);
      for (const scenario of report.scenarios) {
        for (const result of scenario.results) {
          const where = `${name}/${scenario.name}/${result.contender}`;
          if (result.value === null) expect(result.skipped, where).toBeTypeOf('string');
          else expect(result.value.runs, where).toHaveLength(report.runs);
        }
      }
      for (const headline of report.headlines) {
        if (headline.value === null)
          expect(headline.skipped, `${name}/${headline.name}`).toBeTypeOf('string');
        if (headline.name.includes('_vs_')) expect(headline.unit).toBe('×');
      }
      const asked = ASKED[name];
      if (asked === undefined) return;
      expect(report.headlines.map((h) => h.name)).toEqual(expect.arrayContaining([...asked.headlines]));
      for (const scenario of report.scenarios) {
        for (const result of scenario.results.filter((r) => r.value !== null)) {
          expect(Object.keys(result.cpu), `${name}/${scenario.name}/${result.contender}`).toEqual(
            expect.arrayContaining([...asked.cpu]),
          );
        }
      }
    },
  );
});

describe('the reload report', () => {
  it("carries issue 16's figures: p99 through a reload against steady, and the failed requests of each deploy", () => {
    const report = parseReport(JSON.parse(read('bench/results/reload.json')), 'reload.json');
    const headline = (name: string) => report.headlines.find((h) => h.name === name);
    expect(headline('reload_p99_vs_steady')).toMatchObject({
      unit: '×',
      higherIsBetter: false,
      basis: { of: 'metrics.p99_ms', contenders: ['sockshard-reload', 'sockshard-steady'] },
    });
    for (const [name, contender] of [
      ['failed_requests_reload', 'sockshard-reload'],
      ['failed_requests_handover', 'sockshard-handover'],
    ]) {
      expect(headline(name!)).toMatchObject({
        aim: { text: '<= 0' },
        basis: { of: 'metrics.failed_requests', contenders: [contender] },
      });
    }
    expect(headline('cluster_restart_failed_requests')).toMatchObject({
      basis: { of: 'metrics.failed_requests', contenders: ['cluster-restart'] },
    });
    // Every window reports its failed requests, its p99 and the server's CPU per request by thread.
    for (const result of report.scenarios[0]!.results.filter((r) => r.skipped === null)) {
      expect(Object.keys(result.metrics), result.contender).toEqual(
        expect.arrayContaining(['failed_requests', 'p99_ms']),
      );
      expect(Object.keys(result.cpu).length, result.contender).toBeGreaterThan(2);
    }
  });
});

describe('the report schema', () => {
  it('rejects ratios in the old shapes, missing figures and inconsistent reports, naming each problem', () => {
    const good = sample(new ReportBuilder('demo', 'Demo', args())).build();
    expect(reportProblems(good)).toEqual([]);
    const changed = (
      change: (report: { headlines: unknown; scenarios: { baseline: string; results: object[] }[] }) => void,
    ) => {
      const copy = structuredClone(good) as never;
      change(copy);
      return reportProblems(copy);
    };
    expect(changed((r) => (r.headlines = { mine_vs_base: 2 }))).toContain('/headlines: Expected array');
    expect(changed((r) => (r.headlines = [{ value: 2, basis: 'a / b' }]))).toContain(
      '/headlines/0/name: Expected required property',
    );
    expect(
      changed((r) => (r.scenarios[0]!.results[0] = { ...r.scenarios[0]!.results[0], cpu: undefined })),
    ).toContain('/scenarios/0/results/0/cpu: Expected object');
    expect(changed((r) => (r.scenarios[0]!.baseline = 'nobody'))).toEqual([
      'scenario load: baseline nobody has no result',
    ]);
    expect(changed((r) => (r.headlines as object[]).push((r.headlines as object[])[0]!))).toEqual([
      'headline mine_vs_base twice',
    ]);
    expect(() => parseReport({ schema: 'other' }, 'x.json')).toThrow(
      /x\.json is not a sockshard-bench\/1 report/,
    );
  });
});

describe('ReportBuilder', () => {
  it('takes each ratio run by run, reports its median and spread, and says why one has no value', () => {
    const report = sample(new ReportBuilder('demo', 'Demo', args())).build();
    const headline = (name: string) => report.headlines.find((h) => h.name === name)!;
    expect(headline('mine_vs_base')).toMatchObject({
      value: 2,
      min: 0.75,
      max: 3,
      runs: [2, 3, 0.75],
      unit: '×',
    });
    expect(headline('mine_vs_base')).toMatchObject({
      aim: { text: '>= 1.5', met: true },
      higherIsBetter: true,
    });
    expect(headline('mine_cpu_vs_base')).toMatchObject({ value: 0.5, higherIsBetter: false });
    expect(headline('mine_cpu_vs_base').explain).toBe('server CPU per op, some load: mine / base');
    expect(headline('absent_vs_base')).toMatchObject({
      value: null,
      skipped: 'absent skipped: needs something',
      aim: { met: null },
    });
    expect(headline('coordinator_cap')).toMatchObject({ value: 1e6, unit: 'op/s' });
    const mine = report.scenarios[0]!.results.find((r) => r.contender === 'mine')!;
    expect(mine.value).toEqual({ median: 15, min: 10, max: 30, runs: [10, 30, 15] });
    expect(Object.keys(mine.cpu)).toEqual(['server', 'coordinator']);
  });

  it('writes and validates the report, and keeps full runs (not quick ones) in a capped history', () => {
    const full = args();
    for (let run = 0; run < 32; run++) sample(new ReportBuilder('demo', 'Demo', full)).write();
    const written = parseReport(JSON.parse(readFileSync(join(full.out, 'demo.json'), 'utf8')), 'demo.json');
    expect(written.quick).toBe(false);
    const history = readHistory(full.out);
    expect(history).toHaveLength(30);
    expect(history.at(-1)!.headlines.mine_vs_base).toEqual([2, 0.75, 3]);
    const quick = args(true);
    sample(new ReportBuilder('demo', 'Demo', quick)).write();
    expect(existsSync(join(quick.out, HISTORY_FILE))).toBe(false);
    const invalid = new ReportBuilder('demo', 'Demo', full);
    invalid.scenario({ name: 's', title: 't', unit: 'u', operation: 'o', baseline: 'x' });
    expect(() => invalid.write()).toThrow(/baseline x has no result/);
  });

  it('renders sections and the README table from reports alone, with earlier runs from the history', () => {
    const dir = args();
    const report: Report = sample(new ReportBuilder('demo', 'Demo', dir)).write();
    const section = renderSection(report);
    expect(section).toContain('| mine | 15 | 10–30 | 1.50× |');
    expect(section).toContain('| `mine_vs_base` | 2.00× | 0.75×–3.00× | >= 1.5: met |');
    expect(section).toContain('| `absent_vs_base` | n/a | absent skipped: needs something | >= 1: n/a |');
    const later = { ...report, date: '2099-01-01T00:00:00.000Z' };
    const table = renderReadmeTable([later], readHistory(dir.out));
    expect(table).toContain(
      '| demo (2099-01-01) | some load: mine / base | 15 / 10 op/s | **2.00×** | 0.75×–3.00× | >= 1.5: met | 2.00× |',
    );
    expect(table).not.toContain('mine_cpu_vs_base');
  });
});

/**
 * A worker that registers its thread as 'spinner' in `file`, posts 'registered', waits at `gate` (while 0),
 * then spins until its own thread has used 100 ms of CPU. Then it ends, or with `stay` posts 'done' and
 * waits while the gate reads 1 (a thread that has ended is no longer in /proc for a meter to read).
 */
function spinner(file: string, gate: Int32Array, stay: boolean): Worker {
  return new Worker(
    `const { workerData: { gate, file }, parentPort } = require('node:worker_threads');
     const fs = require('node:fs');
     const cpu = () => Number(fs.readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1e9;
     fs.appendFileSync(file, fs.readlinkSync('/proc/thread-self').split('/').pop() + ' spinner\\n');
     parentPort.postMessage('registered');
     Atomics.wait(gate, 0, 0);
     const start = cpu();
     while (cpu() - start < 0.1);
     ${stay ? "parentPort.postMessage('done'); Atomics.wait(gate, 0, 1);" : ''}`,
    { eval: true, workerData: { gate, file }, env: { [THREADS_ENV]: file } },
  );
}

describe('CPU by thread', () => {
  it("attributes a registered thread's CPU to its role", async () => {
    const file = join(args().out, 'threads');
    const gate = new Int32Array(new SharedArrayBuffer(4));
    // The worker registers itself, waits at the gate, then spins until its own thread used 100 ms of CPU;
    // it stays alive until the meter has read it (a thread that has ended is no longer in /proc).
    const worker = spinner(file, gate, true);
    const messages: string[] = [];
    const next = () =>
      new Promise<void>((resolve) => worker.once('message', (m: string) => resolve(void messages.push(m))));
    await next();
    const meter = new CpuMeter([process.pid], serverRoles([process.pid], 'main', file));
    meter.start();
    Atomics.store(gate, 0, 1);
    Atomics.notify(gate, 0);
    await next();
    const cpu = meter.stop().byRole;
    const exited = new Promise((resolve) => worker.once('exit', resolve));
    Atomics.store(gate, 0, 2);
    Atomics.notify(gate, 0);
    await exited;
    expect(messages).toEqual(['registered', 'done']);
    expect(cpu.spinner).toBeGreaterThanOrEqual(0.1);
    expect(cpu.server).toBeGreaterThanOrEqual(cpu.spinner! + (cpu.main ?? 0));
  });
  it('counts a thread that ends before stop() up to its last reading when polled, and a followed process whole', async () => {
    const gate = new Int32Array(new SharedArrayBuffer(4));
    const file = join(args().out, 'threads');
    // The worker registers, waits at the gate, spins until its thread used 100 ms of CPU, and ends.
    const worker = spinner(file, gate, false);
    await new Promise((resolve) => worker.once('message', resolve));
    const roles = serverRoles([process.pid], 'main', file);
    let childPid = -1;
    const polled = new CpuMeter(
      [process.pid],
      (pid, tid) => (pid === childPid ? 'child' : roles(pid, tid)),
      5,
    );
    const once = new CpuMeter([process.pid], roles);
    polled.start();
    once.start();
    Atomics.store(gate, 0, 1);
    Atomics.notify(gate, 0);
    await new Promise((resolve) => worker.once('exit', resolve));
    // A process started after start(): it spins 100 ms of CPU, says so, and waits to be ended.
    const child = spawn(
      process.execPath,
      [
        '-e',
        `const fs = require('node:fs');
         const cpu = () => Number(fs.readFileSync('/proc/self/schedstat', 'utf8').split(' ')[0]) / 1e9;
         const start = cpu();
         while (cpu() - start < 0.1);
         console.log('spun');
         setInterval(() => {}, 1000);`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      await new Promise((resolve) => child.stdout.once('data', resolve));
      childPid = child.pid!;
      polled.follow(childPid);
      const cpu = polled.stop().byRole;
      const unpolled = once.stop().byRole;
      // Up to one poll (5 ms) of its CPU is lost, or more if this thread was late to poll: half is plenty.
      expect(cpu.spinner).toBeGreaterThanOrEqual(0.05);
      expect(unpolled.spinner ?? 0).toBe(0);
      // Started after start(): all of its CPU counts.
      expect(cpu.child).toBeGreaterThanOrEqual(0.1);
    } finally {
      child.kill();
    }
  });
});
