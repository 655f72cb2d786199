import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { benchNames, runBench } from '../../src/cli/bench.js';

// Stand-in scripts that record how they were run, instead of real benchmarks (which this suite never runs).
const FIXTURES = new URL('../fixtures/examples/bench/', import.meta.url);
const WITH_ALL = new URL('../fixtures/examples/bench-with-all/', import.meta.url);

let record = '';
beforeEach(() => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sockshard-bench-'));
  record = path.join(dir, 'runs.jsonl');
  process.env.SOCKSHARD_BENCH_RECORD = record;
  return () => rmSync(dir, { recursive: true, force: true });
});
afterEach(() => {
  delete process.env.SOCKSHARD_BENCH_RECORD;
});

function runs(): string[][] {
  return readFileSync(record, 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as string[]);
}

describe('sockshard bench', () => {
  it('lists the scripts in bench/, the known ones first, without the all-runner', () => {
    expect(benchNames().slice(0, 3)).toEqual(['ring', 'http', 'udp']);
    expect(benchNames()).not.toContain('all');
    expect(benchNames(WITH_ALL)).toEqual(['one']);
  });

  it('runs one script through tsx with --quick, --runs and the arguments after --', async () => {
    expect(await runBench('two', { quick: true, runs: 2 }, ['--duration', '1'], FIXTURES)).toBe(0);
    expect(runs()).toEqual([['two', '--quick', '--runs', '2', '--duration', '1']]);
  });

  it('with no name runs every script in turn when there is no all-runner, and reports a failure', async () => {
    expect(await runBench(undefined, {}, ['--fail'], FIXTURES)).toBe(3);
    expect(runs()).toEqual([
      ['one', '--fail'],
      ['two', '--fail'],
    ]);
  });

  it('with no name hands over to bench/all.ts when there is one', async () => {
    expect(await runBench(undefined, { quick: true }, [], WITH_ALL)).toBe(0);
    expect(runs()).toEqual([['all', '--quick']]);
  });
});
