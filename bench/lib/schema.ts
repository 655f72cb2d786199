/**
 * The one report schema every benchmark writes (`bench/results/<name>.json`), declared once with TypeBox:
 * the TypeScript types below are derived from it and `reportProblems` validates against it, so a benchmark
 * cannot write a report the renderer, the history and the test do not read. bench/README.md explains it.
 */
import { type Static, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

export const SCHEMA_ID = 'sockshard-bench/1';

const Strict = { additionalProperties: false } as const;
const Name = Type.String({ minLength: 1 });

/** One figure over the runs: `runs[i]` comes from run i, in the order the runs were made. */
export const Stat = Type.Object(
  { median: Type.Number(), min: Type.Number(), max: Type.Number(), runs: Type.Array(Type.Number()) },
  Strict,
);

export const Result = Type.Object(
  {
    contender: Name,
    description: Type.String(),
    /** Why this contender could not run here (a missing tool, an older Node), or null. */
    skipped: Type.Union([Type.String(), Type.Null()]),
    /** The scenario's figure, in its unit; null when skipped. */
    value: Type.Union([Stat, Type.Null()]),
    /** Further figures, named with their unit (`p99_ms`, `drop_rate`). */
    metrics: Type.Record(Type.String(), Stat),
    /**
     * CPU microseconds per operation, by thread role (`coordinator`, `shard0`, `pool`, `other`...), with
     * `server` the sum over the server's threads and `generator` the load generator's.
     */
    cpu: Type.Record(Type.String(), Stat),
    notes: Type.Array(Type.String()),
  },
  Strict,
);

export const Scenario = Type.Object(
  {
    name: Name,
    title: Type.String(),
    unit: Type.String(),
    higherIsBetter: Type.Boolean(),
    /** What one operation is, for CPU per operation: 'request', 'connection', 'datagram'... */
    operation: Type.String(),
    /** The contender others are compared with in its table, or null. */
    baseline: Type.Union([Name, Type.Null()]),
    results: Type.Array(Result),
  },
  Strict,
);

/** Every headline number, ratios (unit '×') and key figures such as `coordinator_us_per_connection`. */
export const Headline = Type.Object(
  {
    name: Name,
    unit: Type.String(),
    /** The median of the per-run values (a ratio's two sides are measured in the same run). */
    value: Type.Union([Type.Number(), Type.Null()]),
    min: Type.Union([Type.Number(), Type.Null()]),
    max: Type.Union([Type.Number(), Type.Null()]),
    runs: Type.Array(Type.Number()),
    higherIsBetter: Type.Boolean(),
    explain: Type.String(),
    /** What it is computed from: a scenario's `value`, `cpu.<role>` or `metrics.<name>` of one contender or two (a / b). */
    basis: Type.Object({ scenario: Name, of: Type.String(), contenders: Type.Array(Name) }, Strict),
    /** Why there is no value (a side was skipped), or null. */
    skipped: Type.Union([Type.String(), Type.Null()]),
    /** The aim this figure is held to (`>= 1.5`), or null; `met` is null when there is no value. */
    aim: Type.Union([
      Type.Object({ text: Type.String(), met: Type.Union([Type.Boolean(), Type.Null()]) }, Strict),
      Type.Null(),
    ]),
    /** Quoted in the README's table. */
    key: Type.Boolean(),
  },
  Strict,
);

/** A projection from measured CPU per operation: never a measurement, and labelled as one. */
export const Projection = Type.Object(
  {
    label: Type.String(),
    model: Type.Array(Type.String()),
    cores: Type.Array(Type.Integer({ minimum: 1 })),
    series: Type.Array(
      Type.Object(
        {
          scenario: Name,
          contender: Name,
          unit: Type.String(),
          /** One per `cores` entry. */
          values: Type.Array(Type.Number()),
          /** What caps each value: 'cores' or the single thread that saturates ('coordinator', 'primary'). */
          limits: Type.Array(Type.String()),
        },
        Strict,
      ),
    ),
    /** The projection against what this machine can measure. */
    checks: Type.Array(
      Type.Object(
        { what: Type.String(), projected: Type.Number(), measured: Type.Number(), note: Type.String() },
        Strict,
      ),
    ),
    notes: Type.Array(Type.String()),
  },
  Strict,
);

export const Report = Type.Object(
  {
    schema: Type.Literal(SCHEMA_ID),
    benchmark: Name,
    title: Type.String(),
    /** ISO 8601, UTC. */
    date: Type.String(),
    commit: Type.Union([Type.String(), Type.Null()]),
    quick: Type.Boolean(),
    runs: Type.Integer({ minimum: 1 }),
    machine: Type.Object(
      {
        node: Type.String(),
        platform: Type.String(),
        cpu: Type.String(),
        cores: Type.Integer(),
        memoryGiB: Type.Number(),
      },
      Strict,
    ),
    settings: Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Boolean()])),
    notes: Type.Array(Type.String()),
    scenarios: Type.Array(Scenario),
    headlines: Type.Array(Headline),
    projection: Type.Union([Projection, Type.Null()]),
  },
  Strict,
);

export type Stat = Static<typeof Stat>;
export type Result = Static<typeof Result>;
export type Scenario = Static<typeof Scenario>;
export type Headline = Static<typeof Headline>;
export type Projection = Static<typeof Projection>;
export type Report = Static<typeof Report>;

/** What is wrong with `value` as a report, one line per problem; empty when it is a valid report. */
export function reportProblems(value: unknown): string[] {
  const problems = [...Value.Errors(Report, value)].map((error) => `${error.path || '/'}: ${error.message}`);
  if (problems.length > 0) return problems;
  const report = value as Report;
  for (const scenario of report.scenarios) {
    const names = scenario.results.map((result) => result.contender);
    if (scenario.baseline !== null && !names.includes(scenario.baseline)) {
      problems.push(`scenario ${scenario.name}: baseline ${scenario.baseline} has no result`);
    }
    for (const result of scenario.results) {
      const stats = [result.value, ...Object.values(result.metrics), ...Object.values(result.cpu)];
      for (const stat of stats) {
        if (stat !== null && stat.runs.length === 0)
          problems.push(`${scenario.name}/${result.contender}: no runs`);
      }
    }
  }
  const headlines = report.headlines.map((headline) => headline.name);
  for (const name of new Set(headlines)) {
    if (headlines.indexOf(name) !== headlines.lastIndexOf(name)) problems.push(`headline ${name} twice`);
  }
  return problems;
}

/** A report read from JSON, or an error that names every problem. */
export function parseReport(json: unknown, source: string): Report {
  const problems = reportProblems(json);
  if (problems.length > 0)
    throw new Error(`${source} is not a ${SCHEMA_ID} report:\n  ${problems.join('\n  ')}`);
  return json as Report;
}
