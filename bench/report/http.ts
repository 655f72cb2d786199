/**
 * bench/http.ts: `results[scenario][contender]` holds req/s (`rps`, connections/s in the churn scenario),
 * latency percentiles in ms (null in churn), server CPU and caveats (`notes`); `scenarios` gives titles.
 */
import { type Entry, makeGroup } from './group.js';
import { at, booleanAt, figuresAt, numberAt, objectAt, ratiosOf, stringAt } from './json.js';
import type { BenchReport, ReportGroup } from './types.js';

const BASELINE = 'node-cluster';

function ms(value: number | null): string {
  if (value === null) return 'n/a';
  return value >= 10 ? value.toFixed(1) : value.toFixed(2);
}

interface ScenarioInfo {
  readonly name: string;
  readonly title: string | null;
  readonly churn: boolean;
}

function scenariosOf(json: unknown, results: Readonly<Record<string, unknown>>): ScenarioInfo[] {
  const listed = at(json, 'scenarios');
  const scenarios: ScenarioInfo[] = Array.isArray(listed)
    ? listed.flatMap((s: unknown) => {
        const name = stringAt(s, 'name');
        return name === null
          ? []
          : [{ name, title: stringAt(s, 'title'), churn: booleanAt(s, 'churn') ?? false }];
      })
    : [];
  // Scenarios with results that the list lacks (an older JSON without `scenarios`) still get a table.
  for (const name of Object.keys(results)) {
    if (!scenarios.some((s) => s.name === name))
      scenarios.push({ name, title: null, churn: name === 'churn' });
  }
  return scenarios;
}

export function adaptHttp(json: unknown): BenchReport {
  const results = objectAt(json, 'results');
  const groups: ReportGroup[] = scenariosOf(json, results).map((scenario) => {
    const byContender = objectAt(results, scenario.name);
    const notes: string[] = [];
    const entries = Object.keys(byContender).map((contender): Entry => {
      const aggregate = byContender[contender];
      const noted = at(aggregate, 'notes');
      if (Array.isArray(noted)) {
        for (const note of noted) if (typeof note === 'string') notes.push(`${contender}: ${note}`);
      }
      const cpu = numberAt(aggregate, 'serverCpuCores', 'median');
      const extra: Record<string, string> = scenario.churn
        ? {}
        : {
            'p50 ms': ms(numberAt(aggregate, 'p50Ms', 'median')),
            'p99 ms': ms(numberAt(aggregate, 'p99Ms', 'median')),
          };
      extra['server CPU (cores)'] = cpu === null ? 'n/a' : cpu.toFixed(2);
      return { contender, figures: figuresAt(aggregate, 'rps'), extra };
    });
    return makeGroup({
      scenario: scenario.name,
      description: scenario.title ?? scenario.name,
      unit: scenario.churn ? 'conn/s' : 'req/s',
      baseline: BASELINE,
      entries,
      notes,
    });
  });
  const skipped = at(json, 'skipped');
  const notes = Array.isArray(skipped)
    ? skipped.flatMap((s: unknown) => {
        const contender = stringAt(s, 'contender');
        return contender === null
          ? []
          : [`skipped ${contender}: ${stringAt(s, 'reason') ?? 'no reason given'}`];
      })
    : [];
  const cores = numberAt(json, 'cores') ?? numberAt(json, 'machine', 'cores');
  const n = cores === null ? 'N' : String(cores);
  return {
    title: `HTTP: sockshard (${n} shards) vs node:http and node:cluster (${n} workers)`,
    unit: 'req/s',
    higherIsBetter: true,
    groups,
    headline: ratiosOf(json),
    explain: {
      keepalive_vs_cluster: 'req/s, keep-alive, 100 connections: sockshard / node:cluster',
      keepalive_vs_single: 'req/s, keep-alive, 100 connections: sockshard / node:http on one thread',
      keepalive10_vs_cluster: 'req/s, keep-alive, 10 connections: sockshard / node:cluster',
      keepalive10_vs_single: 'req/s, keep-alive, 10 connections: sockshard / node:http on one thread',
      churn_vs_cluster: 'connections/s, a new connection per request: sockshard / node:cluster',
      churn_vs_single: 'connections/s, a new connection per request: sockshard / node:http on one thread',
      cpu_vs_single: 'req/s, CPU-heavy handler: sockshard / node:http on one thread',
      cpu_vs_cluster: 'req/s, CPU-heavy handler: sockshard / node:cluster',
    },
    key: ['keepalive_vs_cluster', 'keepalive_vs_single', 'churn_vs_cluster', 'cpu_vs_cluster'],
    notes,
  };
}
