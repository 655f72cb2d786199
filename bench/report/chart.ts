/**
 * One SVG per benchmark, drawn server-side by Vega-Lite (compiled to a Vega spec, rendered by a headless
 * vega View to an SVG string): no browser and no native canvas, so it runs wherever Node does. Without
 * the optional `canvas` package vega estimates text widths, which is close enough for labels.
 */
import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { si } from '../lib/report.js';
import type { BenchReport } from './types.js';

const PANEL_WIDTH = 420;
const BAR_COLOR = '#4c78a8';
const BASELINE_COLOR = '#9e9e9e';

interface Datum {
  readonly panel: string;
  readonly contender: string;
  readonly median: number | null;
  readonly min: number | null;
  readonly max: number | null;
  /** Where the value label goes: past the whisker when there is one. */
  readonly end: number;
  readonly label: string;
  readonly role: 'baseline' | 'contender';
}

function panelTitle(report: BenchReport, group: BenchReport['groups'][number]): string {
  const unit = group.unit ?? report.unit;
  const better = (group.higherIsBetter ?? report.higherIsBetter) ? 'higher is better' : 'lower is better';
  return unit === '' ? group.scenario : `${group.scenario} (${unit}, ${better})`;
}

/** A row without a median keeps its place, with no bar and "n/a" at zero, as in the report's table. */
function dataOf(report: BenchReport): Datum[] {
  return report.groups.flatMap((group) =>
    group.rows.map(
      (row): Datum => ({
        panel: panelTitle(report, group),
        contender: row.contender,
        median: row.median,
        min: row.min,
        max: row.max,
        end: Math.max(row.median ?? 0, row.max ?? 0),
        label: row.median === null ? 'n/a' : si(row.median),
        role: row.contender === group.baseline ? 'baseline' : 'contender',
      }),
    ),
  );
}

type LayerSpec = Extract<TopLevelSpec, { layer: unknown }>;

/** One panel: bars for the medians, a rule for each min–max, the median's value past the rule. */
function panel(title: string, values: readonly Datum[]): Omit<LayerSpec, '$schema'> {
  return {
    title: { text: title, anchor: 'start', fontSize: 12 },
    width: PANEL_WIDTH,
    data: { values: [...values] },
    encoding: {
      // An explicit order: with `sort: null` the layers' domains are merged, and a row without a bar (n/a)
      // would move to the end.
      y: {
        field: 'contender',
        type: 'nominal',
        sort: values.map((d) => d.contender),
        title: null,
        axis: { labelLimit: 320 },
      },
    },
    layer: [
      {
        mark: 'bar',
        encoding: {
          x: { field: 'median', type: 'quantitative', title: null, axis: { format: '~s' } },
          color: {
            field: 'role',
            type: 'nominal',
            scale: { domain: ['baseline', 'contender'], range: [BASELINE_COLOR, BAR_COLOR] },
            legend: null,
          },
        },
      },
      {
        mark: { type: 'rule', color: 'black' },
        encoding: { x: { field: 'min', type: 'quantitative' }, x2: { field: 'max' } },
      },
      {
        mark: { type: 'text', align: 'left', dx: 4, color: 'black' },
        encoding: { x: { field: 'end', type: 'quantitative' }, text: { field: 'label', type: 'nominal' } },
      },
    ],
  };
}

export function chartSpec(report: BenchReport): TopLevelSpec {
  const data = dataOf(report);
  const drawable = data.some((d) => d.median !== null);
  const title = {
    text: report.title,
    subtitle: 'bar: median · line: min–max over the runs · grey: baseline',
  };
  if (!drawable) {
    return {
      title,
      width: PANEL_WIDTH,
      height: 40,
      data: { values: [{ text: 'no figures in the results JSON' }] },
      mark: { type: 'text', align: 'left', x: 0, y: 20 },
      encoding: { text: { field: 'text', type: 'nominal' } },
    };
  }
  // Panels stacked, not faceted: each has its own scale (64-byte records/s and µs do not share an axis).
  const panels = [...new Set(data.map((d) => d.panel))];
  return {
    title,
    spacing: 24,
    vconcat: panels.map((name) =>
      panel(
        name,
        data.filter((d) => d.panel === name),
      ),
    ),
  };
}

export async function renderChart(report: BenchReport): Promise<string> {
  const view = new View(parse(compile(chartSpec(report)).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
