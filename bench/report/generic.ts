/**
 * The fallback for a benchmark without an adapter of its own (a new bench/<name>.ts): every `Series`
 * ({ median, min, max }) found in the JSON becomes a row, grouped by where it sits. No unit and no
 * baseline are known, so there is no ratio column; the JSON's `ratios` still make the headline.
 * Write bench/report/<name>.ts for a readable section.
 */
import { type Entry, makeGroup } from './group.js';
import { figuresAt, isObject, isSeries, ratiosOf } from './json.js';
import type { BenchReport } from './types.js';

/** Keys that hold run metadata or raw samples, not figures. */
const SKIPPED_KEYS = new Set(['benchmark', 'date', 'machine', 'ratios', 'raw']);
const MAX_DEPTH = 6;

function collect(value: unknown, path: readonly string[], found: [string[], unknown][]): void {
  if (path.length > MAX_DEPTH || !isObject(value)) return;
  if (path.length > 0 && isSeries(value)) {
    found.push([[...path], value]);
    return;
  }
  for (const [key, child] of Object.entries(value)) {
    if (path.length === 0 && SKIPPED_KEYS.has(key)) continue;
    collect(child, [...path, key], found);
  }
}

export function adaptGeneric(json: unknown, name = 'benchmark'): BenchReport {
  const found: [string[], unknown][] = [];
  collect(json, [], found);
  const groups = new Map<string, Entry[]>();
  for (const [path, series] of found) {
    // results.<contender>.perSecond -> group "results · perSecond", contender "<contender>";
    // throughput.<contender> -> group "throughput".
    const [top = '', contender = top, ...rest] = path;
    const scenario = rest.length === 0 ? top : `${top} · ${rest.join('.')}`;
    const entries = groups.get(scenario) ?? [];
    entries.push({ contender, figures: figuresAt(series) });
    groups.set(scenario, entries);
  }
  return {
    title: name,
    unit: '',
    higherIsBetter: true,
    groups: [...groups.entries()].map(([scenario, entries]) => makeGroup({ scenario, entries })),
    headline: ratiosOf(json),
  };
}
