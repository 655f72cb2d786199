/**
 * The Markdown renderer: one section per benchmark for REPORT.md (run info, a table per scenario, the
 * headline ratios, the chart) and the short SUMMARY.md block meant for README.md. Pure functions of their
 * input (the generation time is passed in), so the output is testable byte for byte.
 */
import { si } from '../lib/report.js';
import type { BenchReport, ReportGroup, RunInfo } from './types.js';

export interface Section {
  readonly name: string;
  readonly info: RunInfo;
  /** null when the JSON could not be read or adapted: `error` says why. */
  readonly report: BenchReport | null;
  readonly error?: string;
  /** The chart's file name, relative to the report. */
  readonly chart?: string;
  /** Set when this run's attempt failed and the JSON is an older run's. */
  readonly stale?: string;
}

/** A benchmark listed in the run order that has no results JSON. */
export interface Absent {
  readonly name: string;
  readonly reason: string;
}

const NA = 'n/a';

function cell(text: string): string {
  return text.replaceAll('|', '\\|').replaceAll('\n', ' ');
}

function figure(value: number | null | undefined): string {
  return value === null || value === undefined || !Number.isFinite(value) ? NA : si(value);
}

export function formatRatio(value: number | null | undefined): string {
  return value === null || value === undefined || !Number.isFinite(value) ? NA : `${value.toFixed(2)}×`;
}

function range(min: number | null, max: number | null): string {
  return min === null && max === null ? NA : `${figure(min)}–${figure(max)}`;
}

export function formatDate(iso: string | null): string {
  if (iso === null) return 'unknown';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

export function formatMachine(info: RunInfo): string {
  const { cpu, cores, memoryGiB, platform, node } = info.machine;
  const parts = [
    cpu,
    cores === null ? null : `${cores} cores`,
    memoryGiB === null ? null : `${memoryGiB} GiB`,
    platform,
    node === null ? null : `Node ${node}`,
  ].filter((part) => part !== null);
  return parts.length === 0 ? 'unknown' : parts.join(', ');
}

function formatRun(info: RunInfo): string {
  const runs = info.runs === null ? '' : `, ${info.runs} run${info.runs === 1 ? '' : 's'}`;
  if (info.quick === true)
    return `quick (\`--quick\`${runs}): short and noisy, a smoke test, not figures to quote`;
  if (info.quick === false) return `full${runs}`;
  return `unknown${runs}`;
}

export function reproduce(info: RunInfo): string {
  const quick = info.quick === true ? ' --quick' : '';
  const runs = info.runs === null ? '' : ` --runs ${info.runs}`;
  return `npm run bench -- --only ${info.benchmark}${quick}${runs}`;
}

function table(report: BenchReport, group: ReportGroup): string[] {
  const unit = group.unit ?? report.unit;
  const higher = group.higherIsBetter ?? report.higherIsBetter;
  const extras = [...new Set(group.rows.flatMap((row) => Object.keys(row.extra ?? {})))];
  const hasRatio = group.baseline !== undefined;
  const header = [
    'contender',
    unit === '' ? 'median' : `median ${unit}`,
    'min–max',
    ...(hasRatio ? [`× ${group.baseline}`] : []),
    ...extras,
  ];
  const align = ['---', '---:', '---:', ...(hasRatio ? ['---:'] : []), ...extras.map(() => '---:')];
  const lines = [
    `### ${cell(group.description ?? group.scenario)}`,
    '',
    [
      unit === '' ? null : `${unit}, ${higher ? 'higher' : 'lower'} is better`,
      hasRatio ? `ratio = median / ${group.baseline} median` : null,
    ]
      .filter((part) => part !== null)
      .join('; '),
    '',
    `| ${header.map(cell).join(' | ')} |`,
    `| ${align.join(' | ')} |`,
  ];
  for (const row of group.rows) {
    const name = row.contender === group.baseline ? `${row.contender} (baseline)` : row.contender;
    const cells = [
      name,
      figure(row.median),
      range(row.min, row.max),
      ...(hasRatio ? [formatRatio(row.ratio)] : []),
      ...extras.map((key) => row.extra?.[key] ?? NA),
    ];
    lines.push(`| ${cells.map(cell).join(' | ')} |`);
  }
  if (group.rows.length === 0) lines.push(`| ${[NA, ...header.slice(1).map(() => NA)].join(' | ')} |`);
  if (group.notes !== undefined && group.notes.length > 0) {
    lines.push('', ...group.notes.map((note) => `- ${cell(note)}`));
  }
  return [...lines.filter((line, i) => !(line === '' && lines[i - 1] === '')), ''];
}

export function renderSection(section: Section): string {
  const { info, report } = section;
  const lines = [
    `## ${section.name}${report === null ? '' : `: ${report.title}`}`,
    '',
    `- Machine: ${formatMachine(info)}`,
    `- Date: ${formatDate(info.date)}`,
    `- Run: ${formatRun(info)}`,
    `- Reproduce: \`${reproduce(info)}\``,
    `- Source: [\`${section.name}.json\`](${section.name}.json)`,
    ...(section.stale === undefined ? [] : [`- **Stale**: ${section.stale}`]),
    ...(report?.notes ?? []).map((note) => `- Note: ${cell(note)}`),
    '',
  ];
  if (report === null) {
    lines.push(`Could not read the results: ${section.error ?? 'unknown error'}.`, '');
    return lines.join('\n');
  }
  if (section.chart !== undefined) lines.push(`![${section.name} chart](${section.chart})`, '');
  if (report.groups.length === 0) lines.push('No figures in the results JSON.', '');
  for (const group of report.groups) lines.push(...table(report, group));
  lines.push('### Headline ratios', '');
  const headline = Object.entries(report.headline);
  if (headline.length === 0) {
    lines.push('No ratios in the results JSON.', '');
  } else {
    lines.push('| ratio | value | compares |', '| --- | ---: | --- |');
    for (const [key, value] of headline) {
      lines.push(`| \`${key}\` | ${formatRatio(value)} | ${cell(report.explain?.[key] ?? '')} |`);
    }
    lines.push('');
  }
  return lines.join('\n');
}

export function renderReport(sections: readonly Section[], absent: readonly Absent[], now: Date): string {
  const lines = [
    '# sockshard benchmark report',
    '',
    `Generated ${formatDate(now.toISOString())} by \`npm run bench\` (bench/all.ts) from \`bench/results/*.json\`.`,
    "Figures are medians over each benchmark's runs, with the min–max; a ratio divides a contender's median",
    "by the baseline's, measured in the same run. These machines are shared and noisy: ratios move much less",
    'between runs than absolute figures.',
    '',
  ];
  if (sections.length === 0) lines.push('No results yet: run `npm run bench`.', '');
  for (const section of sections) lines.push(renderSection(section));
  if (absent.length > 0) {
    lines.push('## Not in this report', '');
    for (const { name, reason } of absent) lines.push(`- ${name}: ${reason}`);
    lines.push('');
  }
  return lines.join('\n');
}

/** The README block: each benchmark's key ratios, where and when they were measured, how to rerun. */
export function renderSummary(sections: readonly Section[]): string {
  const lines = [
    '<!-- Generated by `npm run bench` (bench/all.ts) from bench/results/*.json; paste into README.md. -->',
    '| benchmark | ratio (medians, same run) | value |',
    '| --- | --- | ---: |',
  ];
  for (const { name, info, report } of sections) {
    if (report === null) continue;
    const keys = (report.key ?? Object.keys(report.headline)).filter((key) => key in report.headline);
    const when = `${formatDate(info.date).slice(0, 10)}${info.quick === true ? ', quick run' : ''}`;
    keys.forEach((key, i) => {
      const benchmark = i === 0 ? `${cell(name)} (${when})` : '';
      lines.push(
        `| ${benchmark} | ${cell(report.explain?.[key] ?? key)} | ${formatRatio(report.headline[key])} |`,
      );
    });
  }
  const machines = [...new Set(sections.map((s) => formatMachine(s.info)))];
  lines.push(
    '',
    machines.length === 1
      ? `Measured on ${machines[0]}.`
      : `Measured on: ${sections.map((s) => `${s.name}: ${formatMachine(s.info)}`).join('; ')}.`,
  );
  if (sections.some((s) => s.info.quick === true)) {
    lines.push('Quick runs (`--quick`) are short and noisy: rerun without it before quoting a figure.');
  }
  lines.push(
    'Reproduce with `npm run bench` (every benchmark, one at a time; `-- --only ring,udp` for some of them);',
    'tables and charts: [bench/results/REPORT.md](bench/results/REPORT.md).',
    '',
  );
  return lines.join('\n');
}
