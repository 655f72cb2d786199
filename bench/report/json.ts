/**
 * Lenient readers for benchmark JSON: every accessor takes `unknown` and answers `null` (or an empty
 * object) for anything missing or of the wrong type, so that an adapter never throws on a partial file.
 */
import { median } from '../lib/report.js';
import type { RunInfo } from './types.js';

export type JsonObject = Readonly<Record<string, unknown>>;

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The value at `path` (object keys), or undefined. */
export function at(value: unknown, ...path: readonly string[]): unknown {
  let current = value;
  for (const key of path) {
    if (!isObject(current)) return undefined;
    current = current[key];
  }
  return current;
}

export function objectAt(value: unknown, ...path: readonly string[]): JsonObject {
  const found = at(value, ...path);
  return isObject(found) ? found : {};
}

export function numberAt(value: unknown, ...path: readonly string[]): number | null {
  const found = at(value, ...path);
  return typeof found === 'number' && Number.isFinite(found) ? found : null;
}

export function stringAt(value: unknown, ...path: readonly string[]): string | null {
  const found = at(value, ...path);
  return typeof found === 'string' ? found : null;
}

export function booleanAt(value: unknown, ...path: readonly string[]): boolean | null {
  const found = at(value, ...path);
  return typeof found === 'boolean' ? found : null;
}

/** A `Series` ({ runs, median, min, max }) read leniently: each figure null when missing. */
export interface Figures {
  readonly median: number | null;
  readonly min: number | null;
  readonly max: number | null;
}

export const NO_FIGURES: Figures = { median: null, min: null, max: null };

export function figuresAt(value: unknown, ...path: readonly string[]): Figures {
  const series = at(value, ...path);
  return {
    median: numberAt(series, 'median'),
    min: numberAt(series, 'min'),
    max: numberAt(series, 'max'),
  };
}

/** Scales every figure (e.g. bytes/s to records/s); null stays null. */
export function scaleFigures(figures: Figures, factor: number): Figures {
  const scale = (v: number | null) => (v === null ? null : v * factor);
  return { median: scale(figures.median), min: scale(figures.min), max: scale(figures.max) };
}

export function isSeries(value: unknown): boolean {
  return isObject(value) && 'median' in value && ('min' in value || 'max' in value || 'runs' in value);
}

/** `a / b`, or null when either is missing or b is 0. */
export function ratio(a: number | null, b: number | null): number | null {
  if (a === null || b === null || b === 0) return null;
  const value = a / b;
  return Number.isFinite(value) ? value : null;
}

/**
 * The JSON's `ratios` object as numbers: a plain number, or `{ value, basis }` (bench/icmp.ts says which rows
 * each ratio uses). Anything else, or a null value (not computed), becomes NaN, which renders as "n/a".
 */
export function ratiosOf(json: unknown, key = 'ratios'): Record<string, number> {
  return Object.fromEntries(
    Object.entries(objectAt(json, key)).map(([name, value]) => [
      name,
      typeof value === 'number' ? value : (numberAt(value, 'value') ?? Number.NaN),
    ]),
  );
}

/** The `basis` strings of `{ value, basis }` ratios, to explain them. */
export function ratioBases(json: unknown, key = 'ratios'): Record<string, string> {
  return Object.fromEntries(
    Object.entries(objectAt(json, key)).flatMap(([name, value]) => {
      const basis = stringAt(value, 'basis');
      return basis === null ? [] : [[name, basis]];
    }),
  );
}

/** Median, min and max of a plain array of numbers (non-numbers ignored); null figures when empty. */
export function figuresOfRuns(value: unknown): Figures {
  const runs = Array.isArray(value)
    ? value.filter((v): v is number => typeof v === 'number' && Number.isFinite(v))
    : [];
  if (runs.length === 0) return NO_FIGURES;
  return { median: median(runs), min: Math.min(...runs), max: Math.max(...runs) };
}

export function runInfo(json: unknown, fallbackName: string): RunInfo {
  return {
    benchmark: stringAt(json, 'benchmark') ?? fallbackName,
    date: stringAt(json, 'date'),
    quick: booleanAt(json, 'quick'),
    runs: numberAt(json, 'runs'),
    machine: {
      node: stringAt(json, 'machine', 'node'),
      platform: stringAt(json, 'machine', 'platform'),
      cpu: stringAt(json, 'machine', 'cpu'),
      cores: numberAt(json, 'machine', 'cores'),
      memoryGiB: numberAt(json, 'machine', 'memoryGiB'),
    },
  };
}
