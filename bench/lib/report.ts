/**
 * Builds a benchmark's report (schema.ts) run by run, so that every figure keeps its per-run values and a
 * ratio is computed within each run (both sides measured moments apart, drift hitting both alike) before
 * its median and spread are taken. `write()` validates, writes the JSON, prints the section (the same
 * Markdown as REPORT.md) and, after a full run, appends the headlines to bench/results/history.json.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import type { BenchArgs } from './args.js';
import { REPO_ROOT } from './children.js';
import { renderSection } from './render.js';
import {
  type Headline,
  type Projection,
  type Report,
  reportProblems,
  SCHEMA_ID,
  type Stat,
} from './schema.js';

export const HISTORY_FILE = 'history.json';
const HISTORY_PER_BENCHMARK = 30;

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function stat(runs: readonly number[]): Stat {
  return { median: median(runs), min: Math.min(...runs), max: Math.max(...runs), runs: [...runs] };
}

export interface ScenarioSpec {
  readonly name: string;
  readonly title: string;
  readonly unit: string;
  /** What one operation is, for CPU per operation. */
  readonly operation: string;
  readonly higherIsBetter?: boolean;
  readonly baseline?: string;
}

/** One contender's figures in one run; `cpu` is microseconds of CPU per operation by thread role. */
export interface Sample {
  readonly value: number;
  readonly metrics?: Readonly<Record<string, number>>;
  readonly cpu?: Readonly<Record<string, number>>;
  readonly notes?: readonly string[];
}

export interface HeadlineOptions {
  /** Default: made from the scenario, the quantity and the contenders. */
  readonly explain?: string;
  readonly higherIsBetter?: boolean;
  readonly atLeast?: number;
  readonly atMost?: number;
  /** Quoted in the README's table. */
  readonly key?: boolean;
  /** Applied to each run's value (a figure only): 1e6 / µs per connection = connections/s. */
  readonly map?: (value: number) => number;
}

interface Runs {
  readonly description: string;
  skipped: string | null;
  readonly values: number[];
  readonly series: Map<string, number[]>;
  readonly notes: Set<string>;
}

export class ReportBuilder {
  readonly #settings: Record<string, string | number | boolean> = {};
  readonly #notes: string[] = [];
  readonly #scenarios = new Map<string, { spec: ScenarioSpec; results: Map<string, Runs> }>();
  readonly #headlines: Headline[] = [];
  #projection: Projection | null = null;

  constructor(
    readonly benchmark: string,
    readonly title: string,
    readonly args: BenchArgs,
  ) {}

  settings(settings: Readonly<Record<string, string | number | boolean>>): this {
    Object.assign(this.#settings, settings);
    return this;
  }

  note(...notes: string[]): this {
    this.#notes.push(...notes);
    return this;
  }

  scenario(spec: ScenarioSpec): this {
    this.#scenarios.set(spec.name, { spec, results: new Map() });
    return this;
  }

  #runs(scenario: string, contender: string, description: string): Runs {
    const results = this.#scenarios.get(scenario)?.results;
    if (results === undefined) throw new Error(`no scenario ${scenario}`);
    if (!results.has(contender)) {
      results.set(contender, { description, skipped: null, values: [], series: new Map(), notes: new Set() });
    }
    return results.get(contender)!;
  }

  /** One run's figures; call it once per run, in run order, for every contender that runs. */
  add(scenario: string, contender: string, description: string, sample: Sample): void {
    const runs = this.#runs(scenario, contender, description);
    runs.values.push(sample.value);
    const named = [
      ...Object.entries(sample.metrics ?? {}).map(([k, v]) => [`metrics.${k}`, v] as const),
      ...Object.entries(sample.cpu ?? {}).map(([k, v]) => [`cpu.${k}`, v] as const),
    ];
    for (const [key, value] of named) {
      if (Number.isFinite(value)) runs.series.set(key, [...(runs.series.get(key) ?? []), value]);
    }
    for (const note of sample.notes ?? []) runs.notes.add(note);
  }

  skip(scenario: string, contender: string, description: string, reason: string): void {
    this.#runs(scenario, contender, description).skipped = reason;
  }

  /** `'<scenario>[ <of>]: <contender>'` (of: `value`, `cpu.<role>`, `metrics.<name>`): its runs or why none. */
  #side(scenario: string, of: string, contender: string): number[] | string {
    const runs = this.#scenarios.get(scenario)?.results.get(contender);
    if (runs === undefined) return `${contender} did not run in ${scenario}`;
    if (runs.skipped !== null) return `${contender} skipped: ${runs.skipped}`;
    return (of === 'value' ? runs.values : runs.series.get(of)) ?? `${contender} has no ${of} in ${scenario}`;
  }

  #parse(spec: string): { scenario: string; of: string; sides: string[]; spec: ScenarioSpec } {
    const colon = spec.indexOf(': ');
    const [scenario = '', of = 'value'] = spec.slice(0, colon).split(' ');
    const tail = spec.slice(colon + 2);
    const found = this.#scenarios.get(scenario)?.spec;
    if (found === undefined) throw new Error(`headline ${spec}: no scenario ${scenario}`);
    return { scenario, of, sides: tail.split(' / '), spec: found };
  }

  #push(name: string, unit: string, runs: number[] | string, spec: string, options: HeadlineOptions): this {
    const { scenario: scenarioName, of, sides, spec: scenario } = this.#parse(spec);
    const values = typeof runs === 'string' ? [] : runs.filter(Number.isFinite);
    const value = values.length === 0 ? null : median(values);
    const { atLeast, atMost } = options;
    const quantity = of.startsWith('cpu.')
      ? `${of === 'cpu.server' ? 'server' : of.slice(4)} CPU per ${scenario.operation}, `
      : of.startsWith('metrics.')
        ? `${of.slice(8)}, `
        : '';
    this.#headlines.push({
      name,
      unit,
      value,
      min: value === null ? null : Math.min(...values),
      max: value === null ? null : Math.max(...values),
      runs: values,
      higherIsBetter: options.higherIsBetter ?? (of === 'value' && scenario.higherIsBetter !== false),
      explain: options.explain ?? `${quantity}${scenario.title}: ${sides.join(' / ')}`,
      basis: { scenario: scenarioName, of, contenders: sides },
      skipped: typeof runs === 'string' ? runs : value === null ? 'no finite value' : null,
      aim:
        atLeast === undefined && atMost === undefined
          ? null
          : {
              text: atLeast !== undefined ? `>= ${atLeast}` : `<= ${atMost}`,
              met: value === null ? null : atLeast !== undefined ? value >= atLeast : value <= atMost!,
            },
      key: options.key ?? false,
    });
    return this;
  }

  /** `ratio('churn_cpu_vs_cluster', 'churn cpu.server: sockshard / node-cluster')`: a / b within each run. */
  ratio(name: string, spec: string, options: HeadlineOptions = {}): this {
    const { scenario, of, sides } = this.#parse(spec);
    const [top, bottom] = sides.map((contender) => this.#side(scenario, of, contender));
    const runs =
      typeof top === 'string' || top === undefined
        ? (top ?? 'no contender')
        : typeof bottom === 'string' || bottom === undefined
          ? (bottom ?? 'no second contender')
          : top.length !== bottom.length
            ? `${sides.join(' and ')} ran a different number of times`
            : top.map((value, i) => value / bottom[i]!);
    return this.#push(name, '×', runs, spec, options);
  }

  /** `figure('coordinator_us_per_connection', 'µs', 'churn cpu.coordinator: sockshard')`. */
  figure(name: string, unit: string, spec: string, options: HeadlineOptions = {}): this {
    const { scenario, of, sides } = this.#parse(spec);
    const runs = this.#side(scenario, of, sides[0]!);
    const map = options.map;
    return this.#push(
      name,
      unit,
      typeof runs === 'string' || map === undefined ? runs : runs.map(map),
      spec,
      options,
    );
  }

  /** The median of a side's runs, or null (projections are built from these). */
  medianOf(scenario: string, of: string, contender: string): number | null {
    const runs = this.#side(scenario, of, contender);
    return typeof runs === 'string' || runs.length === 0 ? null : median(runs);
  }

  projection(projection: Projection | null): this {
    this.#projection = projection;
    return this;
  }

  build(): Report {
    return {
      schema: SCHEMA_ID,
      benchmark: this.benchmark,
      title: this.title,
      date: new Date().toISOString(),
      commit: commit(),
      quick: this.args.quick,
      runs: this.args.runs,
      machine: {
        node: process.version,
        platform: `${os.type()} ${os.release()} ${os.arch()}`,
        cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
        cores: os.availableParallelism(),
        memoryGiB: Math.round(os.totalmem() / 2 ** 30),
      },
      settings: this.#settings,
      notes: this.#notes,
      scenarios: [...this.#scenarios.values()].map(({ spec, results }) => ({
        name: spec.name,
        title: spec.title,
        unit: spec.unit,
        higherIsBetter: spec.higherIsBetter ?? true,
        operation: spec.operation,
        baseline: spec.baseline ?? null,
        results: [...results].map(([contender, runs]) => {
          const pick = (prefix: string) =>
            Object.fromEntries(
              [...runs.series]
                .filter(([k]) => k.startsWith(prefix))
                .map(([k, v]) => [k.slice(prefix.length), stat(v)]),
            );
          return {
            contender,
            description: runs.description,
            skipped: runs.skipped,
            value: runs.skipped !== null || runs.values.length === 0 ? null : stat(runs.values),
            metrics: pick('metrics.'),
            cpu: pick('cpu.'),
            notes: [...runs.notes],
          };
        }),
      })),
      headlines: this.#headlines,
      projection: this.#projection,
    };
  }

  /** Validates, writes `<out>/<benchmark>.json`, prints the section, records a full run in the history. */
  write(): Report {
    const report = this.build();
    const problems = reportProblems(report);
    if (problems.length > 0) throw new Error(`invalid report:\n  ${problems.join('\n  ')}`);
    mkdirSync(this.args.out, { recursive: true });
    const file = join(this.args.out, `${report.benchmark}.json`);
    writeFileSync(file, `${JSON.stringify(report, null, 1)}\n`);
    console.log(`\n${renderSection(report)}`);
    if (!report.quick) appendHistory(this.args.out, report);
    console.log(`wrote ${file}${report.quick ? ' (a quick run: not in the history)' : ''}`);
    return report;
  }
}

export interface HistoryEntry {
  readonly benchmark: string;
  readonly date: string;
  readonly commit: string | null;
  readonly node: string;
  readonly runs: number;
  /** Headline name: [median, min, max]. */
  readonly headlines: Readonly<Record<string, readonly [number, number, number]>>;
}

export function readHistory(dir: string): HistoryEntry[] {
  const file = join(dir, HISTORY_FILE);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as HistoryEntry[]) : [];
}

function appendHistory(dir: string, report: Report): void {
  const headlines = Object.fromEntries(
    report.headlines.flatMap((h) => (h.value === null ? [] : [[h.name, [h.value, h.min!, h.max!]]])),
  );
  const { benchmark, date, commit, runs } = report;
  const history = [
    ...readHistory(dir),
    { benchmark, date, commit, node: report.machine.node, runs, headlines },
  ];
  const mine = history.filter((e) => e.benchmark === benchmark);
  const old = new Set(mine.slice(0, Math.max(0, mine.length - HISTORY_PER_BENCHMARK)));
  // One entry per line: small diffs, still one JSON array.
  const kept = history.filter((e) => !old.has(e)).map((e) => JSON.stringify(e));
  writeFileSync(join(dir, HISTORY_FILE), `[\n${kept.join(',\n')}\n]\n`);
}

function commit(): string | null {
  try {
    const git = (...args: string[]) => execFileSync('git', args, { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
    const changed = git('status', '--porcelain', '--', '.', ':!bench/results') !== '';
    return `${git('rev-parse', '--short', 'HEAD')}${changed ? '+changes' : ''}`;
  } catch {
    return null;
  }
}
