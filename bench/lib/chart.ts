/**
 * One SVG per report, drawn by Vega-Lite without a browser: a panel per scenario, a bar per contender's
 * median and a line for its spread, the baseline in grey. Generated from the JSON alone (reproducible), and
 * not committed: bench/results/charts/ is ignored by git.
 */
import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { Report } from './schema.js';

export async function renderChart(report: Report): Promise<string> {
  const panels = report.scenarios.map((scenario) => ({
    title: `${scenario.name}: ${scenario.unit}, ${scenario.higherIsBetter ? 'higher' : 'lower'} is better`,
    width: 420,
    data: {
      values: scenario.results.flatMap((r) =>
        r.value === null
          ? []
          : [
              {
                contender: r.contender,
                ...r.value,
                baseline: r.contender === scenario.baseline ? 'yes' : 'no',
              },
            ],
      ),
    },
    encoding: { y: { field: 'contender', type: 'nominal' as const, sort: null, title: null } },
    layer: [
      {
        mark: 'bar' as const,
        encoding: {
          x: { field: 'median', type: 'quantitative' as const, title: null, axis: { format: '~s' } },
          color: {
            field: 'baseline',
            scale: { domain: ['yes', 'no'], range: ['#9e9e9e', '#4c78a8'] },
            legend: null,
          },
        },
      },
      {
        mark: 'rule' as const,
        encoding: { x: { field: 'min', type: 'quantitative' as const }, x2: { field: 'max' } },
      },
    ],
  }));
  const spec: TopLevelSpec = {
    title: {
      text: `${report.benchmark}: ${report.title}`,
      subtitle: `${report.date.slice(0, 10)}, bar: median, line: spread`,
    },
    vconcat: panels,
  };
  const view = new View(parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
