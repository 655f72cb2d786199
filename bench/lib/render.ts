/**
 * Markdown from reports, and nothing else: a benchmark prints its section when it ends, bench/all.ts puts
 * every section in REPORT.md and the key headlines (with their spread, date and history) in README.md.
 * Pure functions of the reports, so a report renders the same wherever and whenever it is rendered.
 */
import type { HistoryEntry } from './report.js';
import type { Headline, Report, Result, Scenario, Stat } from './schema.js';

/** 3 significant digits with k/M/G. */
function si(value: number): string {
  const abs = Math.abs(value);
  for (const [limit, suffix] of [
    [1e9, 'G'],
    [1e6, 'M'],
    [1e3, 'k'],
  ] as const) {
    if (abs >= limit) return `${Number((value / limit).toPrecision(3))}${suffix}`;
  }
  return abs >= 100 ? value.toFixed(0) : String(Number(value.toPrecision(3)));
}

/** CPU per operation, given in µs: shown in ns below 1 µs and in ms from 1 ms. */
function micros(value: number): string {
  if (value < 1) return `${si(value * 1000)} ns`;
  return value < 1000 ? `${si(value)} µs` : `${si(value / 1000)} ms`;
}

const cell = (text: string) => text.replaceAll('|', '\\|').replaceAll('\n', ' ');
const row = (cells: readonly string[]) => `| ${cells.map(cell).join(' | ')} |`;
const spread = (s: Stat, format: (v: number) => string) =>
  s.runs.length < 2 ? '' : `${format(s.min)}–${format(s.max)}`;

/** A Markdown table, its first `left` columns aligned left and the others right. */
function table(header: readonly string[], rows: readonly (readonly string[])[], left = 1): string[] {
  return [row(header), row(header.map((_, i) => (i < left ? '---' : '---:'))), ...rows.map(row)];
}

function formatHeadline(h: Headline, value = h.value): string {
  if (value === null) return 'n/a';
  if (h.unit === '×') return `${value.toFixed(2)}×`;
  if (h.unit === 'µs') return micros(value);
  return `${si(value)} ${h.unit}`;
}

function headlineSpread(h: Headline): string {
  return h.runs.length < 2 ? '' : `${formatHeadline(h, h.min)}–${formatHeadline(h, h.max)}`;
}

const aim = (h: Headline) =>
  h.aim === null ? '' : `${h.aim.text}: ${h.aim.met === null ? 'n/a' : h.aim.met ? 'met' : '**not met**'}`;

/** The threads' CPU per operation in one cell: the coordinator or main thread first, then the others. */
function byThread(cpu: Result['cpu']): string {
  const rank = (role: string) =>
    [
      'coordinator',
      'primary',
      'main',
      'producer',
      'consumer',
      'ping',
      'pong',
      'shard',
      'worker',
      'pool',
      'other',
    ].findIndex((prefix) => role.startsWith(prefix)) >>> 0;
  return Object.entries(cpu)
    .filter(([role]) => role !== 'server' && role !== 'generator')
    .sort(([a], [b]) => rank(a) - rank(b) || a.localeCompare(b))
    .map(([role, stat]) => `${role} ${micros(stat.median)}`)
    .join(' · ');
}

function scenarioTable(scenario: Scenario): string[] {
  const base = scenario.results.find((r) => r.contender === scenario.baseline)?.value ?? null;
  const metrics = [...new Set(scenario.results.flatMap((r) => Object.keys(r.metrics)))];
  const has = (role: string) => scenario.results.some((r) => role in r.cpu);
  const threads = scenario.results.some((r) => byThread(r.cpu) !== '');
  type Column = readonly [string, (r: Result, value: Stat) => string];
  const cpu = (role: string): Column => [
    `CPU ${role}`,
    (r) => (r.cpu[role] === undefined ? '' : micros(r.cpu[role].median)),
  ];
  const columns: Column[] = [
    [scenario.unit, (_, v) => si(v.median)],
    ['spread', (_, v) => spread(v, si)],
    ...(base === null
      ? []
      : [[`× ${scenario.baseline}`, (_, v) => `${(v.median / base.median).toFixed(2)}×`] as Column]),
    ...metrics.map((m): Column => [m, (r) => (r.metrics[m] === undefined ? '' : si(r.metrics[m].median))]),
    ...(has('server') ? [cpu('server')] : []),
    ...(threads ? [['by thread', (r) => byThread(r.cpu)] as Column] : []),
    ...(has('generator') ? [cpu('generator')] : []),
  ];
  const rows = scenario.results.map((r) =>
    r.value === null
      ? [r.contender, `skipped: ${r.skipped ?? 'no figures'}`, ...columns.slice(1).map(() => '')]
      : [r.contender, ...columns.map(([, cell]) => cell(r, r.value!))],
  );
  const notes = scenario.results.flatMap((r) => r.notes.map((note) => `- ${r.contender}: ${note}`));
  return [
    `### ${scenario.name}: ${scenario.title}`,
    '',
    `${scenario.unit}, ${scenario.higherIsBetter ? 'higher' : 'lower'} is better; CPU: time per ${scenario.operation}, all of the server's threads and each (\`other\`: V8's and libuv's helpers).`,
    '',
    ...table(['contender', ...columns.map(([name]) => name)], rows),
    ...(notes.length === 0 ? [] : ['', ...notes]),
    '',
  ];
}

function reproduce(report: Report): string {
  return `npm run bench:${report.benchmark} -- ${report.quick ? '--quick' : `--runs ${report.runs}`}`;
}

function runLine(report: Report): string {
  const { machine } = report;
  return [
    `${report.date.slice(0, 16).replace('T', ' ')} UTC`,
    report.quick
      ? `**quick run** (${report.runs} run${report.runs === 1 ? '' : 's'}: a smoke test, not figures to quote)`
      : `${report.runs} runs`,
    `commit ${report.commit ?? 'unknown'}`,
    `${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.platform}, Node ${machine.node}`,
  ].join(' · ');
}

export function renderSection(report: Report): string {
  const lines = [
    `## ${report.benchmark}: ${report.title}`,
    '',
    `${runLine(report)} · \`${reproduce(report)}\``,
    '',
    ...report.notes.map((note) => `- ${note}`),
    ...(report.notes.length === 0 ? [] : ['']),
  ];
  for (const scenario of report.scenarios) lines.push(...scenarioTable(scenario));
  if (report.projection !== null) {
    const p = report.projection;
    lines.push(`### ${p.label}`, '', ...p.model.map((line) => `- ${line}`), '');
    lines.push(
      ...table(
        ['scenario', 'contender', ...p.cores.map((n) => `${n} cores`)],
        p.series.map((s) => [
          s.scenario,
          `${s.contender} (${s.unit})`,
          ...s.values.map((v, i) => `${si(v)}${s.limits[i] === 'cores' ? '' : ` (${s.limits[i]})`}`),
        ]),
      ),
      '',
    );
    if (p.checks.length > 0) {
      lines.push(
        'Checked against this machine:',
        '',
        ...table(
          ['what', 'projected', 'measured', 'measured / projected', 'note'],
          p.checks.map((c) => [
            c.what,
            si(c.projected),
            si(c.measured),
            `${(c.measured / c.projected).toFixed(2)}×`,
            c.note,
          ]),
        ),
        '',
      );
    }
    lines.push(...p.notes.map((note) => `- ${note}`), ...(p.notes.length === 0 ? [] : ['']));
  }
  lines.push(
    '### Headlines',
    '',
    ...table(
      ['name', 'median', `spread (${report.runs} run${report.runs === 1 ? '' : 's'})`, 'aim', 'what'],
      report.headlines.map((h) => [
        `\`${h.name}\``,
        formatHeadline(h),
        h.skipped ?? headlineSpread(h),
        aim(h),
        h.explain,
      ]),
    ),
    '',
  );
  return lines.join('\n');
}

export function renderReport(reports: readonly Report[], problems: readonly string[]): string {
  return [
    '# sockshard benchmark report',
    '',
    'Generated by `npm run bench` (bench/all.ts) from `bench/results/*.json`; the schema and how to read it:',
    '[bench/README.md](../README.md). Figures are medians over the runs with their spread (min–max); a ratio',
    'is computed run by run, its two sides measured moments apart, and its median and spread reported. CPU',
    'columns are CPU time per operation by thread: the figure that holds on a shared 2-core machine.',
    '',
    ...problems.map((problem) => `- **Not reported**: ${problem}`),
    ...(problems.length === 0 ? [] : ['']),
    ...reports.map(renderSection),
  ].join('\n');
}

/** The README's table: every key headline, its spread, its date and its past values. */
/** The medians a headline is computed from, each in its own unit: `13.1M / 9.77M records/s`. */
function sides(report: Report, h: Headline): string {
  const scenario = report.scenarios.find((s) => s.name === h.basis.scenario);
  const [kind, name = ''] = h.basis.of.split('.');
  const figures = h.basis.contenders.map((contender) => {
    const result = scenario?.results.find((r) => r.contender === contender);
    const stat = kind === 'value' ? result?.value : (kind === 'cpu' ? result?.cpu : result?.metrics)?.[name];
    if (stat === undefined || stat === null) return 'n/a';
    return kind === 'cpu' ? micros(stat.median) : si(stat.median);
  });
  return `${figures.join(' / ')}${kind === 'value' ? ` ${scenario?.unit}` : kind === 'metrics' ? ` ${name}` : ''}`;
}

/** The README's table: every key headline with what it is computed from, its spread, date and history. */
export function renderReadmeTable(reports: readonly Report[], history: readonly HistoryEntry[]): string {
  const rows: string[][] = [];
  for (const report of reports) {
    const past = history.filter((e) => e.benchmark === report.benchmark && e.date !== report.date).slice(-4);
    report.headlines
      .filter((h) => h.key)
      .forEach((h, i) => {
        const earlier = past.flatMap((e) =>
          e.headlines[h.name] === undefined ? [] : [formatHeadline(h, e.headlines[h.name]![0])],
        );
        const date = `${report.date.slice(0, 10)}${report.quick ? ', quick' : ''}`;
        rows.push([
          i === 0 ? `${report.benchmark} (${date})` : '',
          h.explain,
          sides(report, h),
          `**${formatHeadline(h)}**`,
          h.skipped ?? headlineSpread(h),
          aim(h),
          earlier.join(', '),
        ]);
      });
  }
  const header = ['benchmark', 'what', 'from', 'median', 'spread', 'aim', 'earlier full runs'];
  return table(header, rows, 3).join('\n');
}
