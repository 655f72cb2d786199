/**
 * Every benchmark of src/cli/benchmarks.ts, one at a time (two at once would measure each other on 2
 * cores), each in its own process as `npm run bench:<name>` runs it; then REPORT.md, the charts and, after
 * full runs, the README's table, all from the reports in bench/results/. A failed benchmark does not stop
 * the others (its section keeps its last report, dated) but fails the command.
 *
 *   npm run bench [-- --quick] [-- --runs N] [-- --only ring,udp] [-- --report-only]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BENCHMARK_NAMES, BENCHMARKS } from '../src/cli/benchmarks.js';
import { benchArgs, RESULTS_DIR } from './lib/args.js';
import { renderChart } from './lib/chart.js';
import { nodeCommand, REPO_ROOT } from './lib/children.js';
import { renderReadmeTable, renderReport } from './lib/render.js';
import { HISTORY_FILE, readHistory } from './lib/report.js';
import { parseReport, type Report } from './lib/schema.js';

const args = benchArgs({
  usage: `npm run bench -- [options]\n  --only NAMES   only these, comma-separated: ${BENCHMARK_NAMES.join(', ')}\n  --report-only  run nothing: rebuild the report, charts and README table from the reports there are`,
  runs: 1,
  options: { only: { type: 'string' }, 'report-only': { type: 'boolean', default: false } },
});
const only = typeof args.values.only === 'string' ? args.values.only.split(',') : BENCHMARK_NAMES;
const unknown = only.filter((name) => !(BENCHMARK_NAMES as readonly string[]).includes(name));
if (unknown.length > 0)
  throw new Error(`unknown benchmark ${unknown.join(', ')}; known: ${BENCHMARK_NAMES.join(', ')}`);
const README = join(REPO_ROOT, 'README.md');
const BEGIN = '<!-- bench:table:begin (npm run bench writes this table) -->';
const END = '<!-- bench:table:end -->';

const failed: string[] = [];
if (args.values['report-only'] !== true) {
  const forwarded = [
    ...(args.quick ? ['--quick'] : []),
    ...(args.values.runs === undefined ? [] : ['--runs', String(args.values.runs)]),
    ...(args.out === RESULTS_DIR ? [] : ['--out', args.out]),
  ];
  for (const { name, script } of BENCHMARKS.filter((b) => only.includes(b.name))) {
    console.log(`\n== ${script} ${forwarded.join(' ')}`);
    const [command, ...rest] = nodeCommand(new URL(`../${script}`, import.meta.url), forwarded);
    const started = performance.now();
    const { status, signal } = spawnSync(command!, rest, { cwd: REPO_ROOT, stdio: 'inherit' });
    if (status !== 0) failed.push(`${name} (${signal ?? `exit ${status}`})`);
    console.log(`== ${name}: ${((performance.now() - started) / 1000).toFixed(0)} s`);
  }
}

// Every report there is, known benchmarks first in their order; one that does not parse is named, not used.
const problems: string[] = [];
const reports: Report[] = [];
const files = existsSync(args.out)
  ? readdirSync(args.out).filter((f) => f.endsWith('.json') && f !== HISTORY_FILE)
  : [];
const rank = (file: string) => BENCHMARK_NAMES.indexOf(file.slice(0, -5) as never) >>> 0;
for (const file of files.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b))) {
  try {
    reports.push(parseReport(JSON.parse(readFileSync(join(args.out, file), 'utf8')), file));
  } catch (error) {
    problems.push((error as Error).message);
  }
}
for (const name of failed)
  problems.push(`bench/${name} failed in this run: its section, if any, is from an earlier run`);
writeFileSync(join(args.out, 'REPORT.md'), renderReport(reports, problems));
mkdirSync(join(args.out, 'charts'), { recursive: true });
for (const report of reports)
  writeFileSync(join(args.out, 'charts', `${report.benchmark}.svg`), await renderChart(report));
console.log(
  `\nwrote ${join(args.out, 'REPORT.md')} and ${reports.length} charts in ${join(args.out, 'charts')}`,
);

const quick = reports.filter((r) => r.quick).map((r) => r.benchmark);
if (args.out !== RESULTS_DIR) console.log('README.md not updated: the reports are not in bench/results/');
else if (quick.length > 0)
  console.log(`README.md not updated: quick runs (${quick.join(', ')}) are not figures to quote`);
else {
  const readme = readFileSync(README, 'utf8');
  const start = readme.indexOf(BEGIN);
  const end = readme.indexOf(END);
  if (start === -1 || end < start) throw new Error(`README.md has no ${BEGIN} ... ${END} block`);
  const table = renderReadmeTable(reports, readHistory(args.out));
  writeFileSync(README, `${readme.slice(0, start + BEGIN.length)}\n${table}\n${readme.slice(end)}`);
  console.log("updated README.md's table");
}
for (const problem of problems) console.error(`problem: ${problem}`);
if (problems.length > 0) process.exitCode = 1;
