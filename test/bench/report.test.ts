import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { buildReport } from '../../bench/report/build.js';
import { adaptGeneric } from '../../bench/report/generic.js';
import { adaptHttp } from '../../bench/report/http.js';
import { adaptIcmp } from '../../bench/report/icmp.js';
import { adaptRing } from '../../bench/report/ring.js';
import { runScript } from '../../bench/report/run-script.js';
import { adaptUdp } from '../../bench/report/udp.js';

const fixtures = fileURLToPath(new URL('../fixtures/bench/', import.meta.url));
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const NOW = new Date('2026-01-03T00:00:00.000Z');

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A scratch copy of a fixture folder, so that the report is written beside its JSON as it would be. */
function scratch(fixture: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'sockshard-report-'));
  dirs.push(dir);
  cpSync(join(fixtures, fixture), dir, { recursive: true });
  return dir;
}

const read = (dir: string, file: string) => readFileSync(join(dir, file), 'utf8');

/**
 * Well-formed as XML, in the ways that matter for an SVG: one root element, every tag closed in order,
 * no stray `<` or unescaped `&` in text. (A full XML parser would be one more dependency for one test.)
 */
function expectWellFormedSvg(svg: string): void {
  expect(svg.startsWith('<svg')).toBe(true);
  expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
  const stack: string[] = [];
  let roots = 0;
  const tag = /<(\/?)([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+="[^"<]*")*)\s*(\/?)>/y;
  let text = '';
  for (let i = 0; i < svg.length; ) {
    if (svg[i] !== '<') {
      text += svg[i++];
      continue;
    }
    tag.lastIndex = i;
    const match = tag.exec(svg);
    expect(match, `malformed tag at ${i}: ${svg.slice(i, i + 60)}`).not.toBeNull();
    const [whole, closing, name, , selfClosing] = match!;
    if (closing === '/') expect(stack.pop()).toBe(name);
    else if (selfClosing !== '/') {
      if (stack.length === 0) roots++;
      stack.push(name!);
    } else if (stack.length === 0) roots++;
    i += whole.length;
  }
  expect(stack).toEqual([]);
  expect(roots).toBe(1);
  expect(text).not.toMatch(/&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[\da-fA-F]+);)/);
}

describe('bench report from fixture results', () => {
  it('writes a section with a table per scenario and the headline ratios for each benchmark', async () => {
    const dir = scratch('results');
    const result = await buildReport({ resultsDir: dir, benchDir: dir, now: NOW });
    expect(result.warnings).toEqual([]);
    expect(result.sections.map((s) => s.name)).toEqual(['ring', 'http', 'udp', 'icmp', 'offload']);
    const report = read(dir, 'REPORT.md');

    expect(report).toContain('Generated 2026-01-03 00:00 UTC');
    expect(report).toContain('## ring: Ring: SharedArrayBuffer ring vs postMessage and ringbuf.js');
    expect(report).toContain('- Machine: Test CPU, 2 cores, 8 GiB, Linux 6.1.0 x64, Node v20.20.2');
    expect(report).toContain('- Date: 2026-01-02 03:04 UTC');
    expect(report).toContain('- Run: quick (`--quick`, 3 runs)');
    expect(report).toContain('- Reproduce: `npm run bench -- --only ring --quick --runs 3`');
    expect(report).toContain('![ring chart](ring.svg)');
    expect(report).toContain(
      [
        '| contender | median records/s | min–max | × postMessage |',
        '| --- | ---: | ---: | ---: |',
        '| ring | 8.00M | 7.00M–9.00M | 8.00× |',
        '| postMessage (baseline) | 1.00M | 900k–1.10M | 1.00× |',
        '| ringbuf.js | 4.00M | 3.00M–5.00M | 4.00× |',
        '| copy limit | 100M | 100M–100M | 100.00× |',
      ].join('\n'),
    );
    expect(report).toContain('µs, lower is better; ratio = median / postMessage median');
    expect(report).toContain('| ring-spin | 1.00 | 1.00–1.00 | 0.05× |');
    expect(report).toContain(
      '| `ring64_vs_postMessage` | 8.00× | records/s, 64-byte records: ring / postMessage (higher is better) |',
    );

    // http: extra columns, latency absent in churn, the baseline's notes, a full run.
    expect(report).toContain('- Run: full, 2 runs');
    expect(report).toContain('- Note: skipped sockshard-node26-transfer: needs Node 26');
    expect(report).toContain(
      [
        '| contender | median req/s | min–max | × node-cluster | p50 ms | p99 ms | server CPU (cores) |',
        '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
        '| sockshard | 31.0k | 30.0k–32.0k | 1.41× | 1.50 | 4.00 | 1.50 |',
      ].join('\n'),
    );
    expect(report).toContain('- node-cluster: disturbed: other processes used 0.50 cores');
    expect(report).toContain('| contender | median conn/s | min–max | × node-cluster | server CPU (cores) |');

    // udp: the baseline found by name, drop rate as an extra column.
    expect(report).toContain('| sockshard, 2 shards, 2 ports | 150k | 150k–150k | 1.50× | 0.100% |');

    // icmp: a contender that was not measured, and a ratio that was not computed.
    expect(report).toContain('| engine path | n/a | n/a | n/a | n/a | n/a | n/a |');
    expect(report).toContain(
      '| engine path, many targets | 70.0k | 60.0k–75.0k | 0.70× | 2.000 | 6.500 | 0.00 |',
    );
    expect(report).toContain('- engine path: not yet wired');
    expect(report).toMatch(/\| `echo_vs_fping` \| n\/a \|/);

    // offload has no adapter yet: every Series still shows, without a ratio column.
    expect(report).toContain('### results · perSecond');
    expect(report).toContain('| offloaded | 1.90k | 1.80k–2.00k |');
    expect(report).toContain('| `offload_vs_inline` | 1.81× |');
  });

  it('writes one well-formed SVG per benchmark naming every contender', async () => {
    const dir = scratch('results');
    await buildReport({ resultsDir: dir, benchDir: dir, now: NOW });
    const contenders: Record<string, string[]> = {
      ring: ['ring', 'postMessage', 'ringbuf.js', 'copy limit', 'ring-spin'],
      http: ['sockshard', 'node-single', 'node-cluster'],
      udp: ['node:dgram, 1 thread, 2 ports', 'sockshard, 2 shards, 2 ports'],
      icmp: ['raw-socket alone, 1 target', 'ping -f', 'engine path', 'engine path, many targets', 'fping'],
      offload: ['inline', 'offloaded'],
    };
    for (const [name, names] of Object.entries(contenders)) {
      const svg = read(dir, `${name}.svg`);
      expectWellFormedSvg(svg);
      for (const contender of names)
        expect(svg, `${name}.svg names ${contender}`).toContain(`>${contender}<`);
    }
  });

  it('writes a summary of the key ratios with machine, date and how to reproduce', async () => {
    const dir = scratch('results');
    await buildReport({ resultsDir: dir, benchDir: dir, now: NOW });
    const summary = read(dir, 'SUMMARY.md');
    expect(summary).toContain(
      '| ring (2026-01-02, quick run) | records/s, 64-byte records: ring / postMessage (higher is better) | 8.00× |',
    );
    expect(summary).toContain('|  | round trip p50: spinning ring / postMessage (lower is better) | 0.05× |');
    expect(summary).toContain(
      '| http (2026-01-02) | req/s, keep-alive, 100 connections: sockshard / node:cluster | 1.41× |',
    );
    expect(summary).toContain('Measured on Test CPU, 2 cores, 8 GiB, Linux 6.1.0 x64, Node v20.20.2.');
    expect(summary).toContain('`npm run bench`');
    expect(summary).toContain('Quick runs (`--quick`)');
  });

  it('renders missing figures as n/a and an unreadable JSON as a note, without throwing', async () => {
    const dir = scratch('partial');
    // Written here rather than kept as a fixture: the linter would reject the file.
    writeFileSync(join(dir, 'icmp.json'), '{"benchmark": "icmp", "rows": ');
    const result = await buildReport({ resultsDir: dir, benchDir: `${repoRoot}bench/`, now: NOW });
    expect(result.warnings).toHaveLength(1);
    expect(result.warnings[0]).toMatch(/^icmp\.json: /);
    const report = read(dir, 'REPORT.md');
    expect(report).toContain('| ring | n/a | n/a | n/a |');
    expect(report).toContain('| postMessage (baseline) | 1.00M | 1.00M–1.00M | 1.00× |');
    expect(report).toContain('| `ring64_vs_postMessage` | n/a |');
    expect(report).toContain('- Machine: unknown');
    expect(report).toContain('| sockshard, 2 shards, 2 ports | n/a | n/a | n/a |');
    expect(report).toContain('| sockshard | 100 | 100–100 | n/a |');
    expect(report).toMatch(/## icmp\n[^#]*Could not read the results: /);
    expect(report).toContain('## Not in this report');
    for (const name of ['ring', 'udp', 'http']) expectWellFormedSvg(read(dir, `${name}.svg`));
  });

  it('flags a benchmark that failed in this run as stale, or as absent when it has no JSON', async () => {
    const dir = scratch('results');
    await buildReport({ resultsDir: dir, benchDir: dir, now: NOW, failed: ['udp'] });
    expect(read(dir, 'REPORT.md')).toMatch(/## udp:[^#]*- \*\*Stale\*\*: bench\/udp\.ts failed/);
    const partial = scratch('partial');
    await buildReport({ resultsDir: partial, benchDir: partial, now: NOW, failed: ['offload'] });
    const report = read(partial, 'REPORT.md');
    expect(report).toContain('- offload: bench/offload.ts failed and there are no earlier results');
    expect(report).toContain('- icmp: not present (no bench/icmp.ts yet)');
  });

  it('adapters cope with anything', () => {
    for (const json of [undefined, null, 42, 'text', [], {}, { results: [], ratios: 'none', rows: 3 }]) {
      for (const adapt of [adaptRing, adaptHttp, adaptUdp, adaptIcmp, adaptGeneric]) {
        const report = adapt(json);
        expect(Array.isArray(report.groups)).toBe(true);
        expect(typeof report.headline).toBe('object');
      }
    }
  });
});

describe('running a benchmark script', () => {
  it('passes on every line, the last one without a newline too', async () => {
    const lines: string[] = [];
    await runScript('test/fixtures/bench/exit-with.ts', ['0'], {
      cwd: repoRoot,
      onLine: (line) => lines.push(line),
    });
    expect(lines.sort()).toEqual(['first line', 'no newline at the end', 'on stderr']);
  });

  it('rejects with the exit code and the last lines when the script fails', async () => {
    await expect(
      runScript('test/fixtures/bench/exit-with.ts', ['3'], { cwd: repoRoot, onLine: () => {} }),
    ).rejects.toThrow(/exited with code 3; its last lines:\n[\s\S]*first line/);
  });
});
