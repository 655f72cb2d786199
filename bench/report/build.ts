/**
 * Builds bench/results/REPORT.md, SUMMARY.md and one <name>.svg per benchmark from the results JSON in a
 * folder. Never throws on a bad JSON: an unreadable file becomes a section that says so, a chart that
 * fails to render is left out with a warning, so one broken benchmark cannot cost the others' report.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { adapterFor, BENCHMARKS } from './adapters.js';
import { renderChart } from './chart.js';
import { runInfo } from './json.js';
import { type Absent, renderReport, renderSummary, type Section } from './markdown.js';

export interface BuildOptions {
  /** Where the results JSON are, and where the report, summary and charts are written. */
  readonly resultsDir: string;
  /** Where bench/<name>.ts live, to tell "not present" from "not run yet". */
  readonly benchDir: string;
  /** The generation time printed in the report (fixed in tests). */
  readonly now?: Date;
  /** Benchmarks whose script failed in this run: their JSON, if any, is from an earlier run. */
  readonly failed?: readonly string[];
}

export interface BuildResult {
  readonly sections: readonly Section[];
  readonly absent: readonly Absent[];
  /** Files written, absolute paths. */
  readonly written: readonly string[];
  readonly warnings: readonly string[];
}

/** Known benchmarks in run order, then any other results JSON by name. */
function resultNames(resultsDir: string): string[] {
  const found = existsSync(resultsDir)
    ? readdirSync(resultsDir)
        .filter((file) => file.endsWith('.json'))
        .map((file) => basename(file, '.json'))
    : [];
  const known: readonly string[] = BENCHMARKS;
  return [...known.filter((name) => found.includes(name)), ...found.filter((n) => !known.includes(n)).sort()];
}

function readSection(resultsDir: string, name: string): Section {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(join(resultsDir, `${name}.json`), 'utf8'));
  } catch (error) {
    return { name, info: runInfo(undefined, name), report: null, error: (error as Error).message };
  }
  const info = { ...runInfo(json, name), benchmark: name };
  try {
    return { name, info, report: adapterFor(name)(json) };
  } catch (error) {
    return { name, info, report: null, error: `adapter failed: ${(error as Error).message}` };
  }
}

export async function buildReport(options: BuildOptions): Promise<BuildResult> {
  const { resultsDir, benchDir } = options;
  const written: string[] = [];
  const warnings: string[] = [];
  const sections: Section[] = [];
  mkdirSync(resultsDir, { recursive: true });
  for (const name of resultNames(resultsDir)) {
    const read = readSection(resultsDir, name);
    const section: Section = options.failed?.includes(name)
      ? {
          ...read,
          stale: `bench/${name}.ts failed in the last \`npm run bench\`: these figures are from an earlier run`,
        }
      : read;
    if (section.report === null) {
      warnings.push(`${name}.json: ${section.error ?? 'unreadable'}`);
      sections.push(section);
      continue;
    }
    try {
      const file = join(resultsDir, `${name}.svg`);
      writeFileSync(file, await renderChart(section.report));
      written.push(file);
      sections.push({ ...section, chart: `${name}.svg` });
    } catch (error) {
      warnings.push(`${name}.svg: chart failed: ${(error as Error).message}`);
      sections.push(section);
    }
  }
  const absent: Absent[] = BENCHMARKS.filter((name) => !sections.some((s) => s.name === name)).map(
    (name) => ({
      name,
      reason: options.failed?.includes(name)
        ? `bench/${name}.ts failed and there are no earlier results`
        : existsSync(join(benchDir, `${name}.ts`))
          ? `no results yet: \`npm run bench -- --only ${name}\``
          : `not present (no bench/${name}.ts yet)`,
    }),
  );
  const now = options.now ?? new Date();
  const report = join(resultsDir, 'REPORT.md');
  writeFileSync(report, renderReport(sections, absent, now));
  const summary = join(resultsDir, 'SUMMARY.md');
  writeFileSync(summary, renderSummary(sections));
  written.push(report, summary);
  return { sections, absent, written, warnings };
}
