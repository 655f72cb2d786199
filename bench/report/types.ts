/**
 * The common shape every benchmark's JSON is turned into before rendering. Each benchmark writes its own
 * JSON (bench/<name>.ts), so one small adapter per benchmark (bench/report/<name>.ts) maps it here and one
 * renderer draws every section and chart the same way. Figures may be missing from a JSON (an older or
 * interrupted run, a contender that failed): they are `null` here and rendered as "n/a".
 */

/** One contender's figures in one scenario. */
export interface ReportRow {
  readonly contender: string;
  readonly median: number | null;
  readonly min: number | null;
  readonly max: number | null;
  /** median / the group's baseline median; `undefined` when the group has no baseline. */
  readonly ratio?: number | null;
  /** Extra columns shown after the ratio (e.g. latency, drop rate), already formatted. */
  readonly extra?: Readonly<Record<string, string>>;
}

/** One scenario: a table in the report and a panel in the chart. */
export interface ReportGroup {
  /** Short name, used as the chart panel's label. */
  readonly scenario: string;
  /** Longer description for the report's heading; defaults to `scenario`. */
  readonly description?: string;
  /** Overrides the benchmark's unit and direction: a benchmark may mix throughput and latency. */
  readonly unit?: string;
  readonly higherIsBetter?: boolean;
  /** The contender the ratios divide by. */
  readonly baseline?: string;
  readonly rows: readonly ReportRow[];
  /** Caveats printed under the table (a saturated generator, a disturbed run, errors). */
  readonly notes?: readonly string[];
}

export interface BenchReport {
  readonly title: string;
  readonly unit: string;
  readonly higherIsBetter: boolean;
  readonly groups: readonly ReportGroup[];
  /** The benchmark's own `ratios`; a missing or non-numeric ratio is NaN (rendered "n/a"). */
  readonly headline: Readonly<Record<string, number>>;
  /** What each headline ratio compares, for the reader. */
  readonly explain?: Readonly<Record<string, string>>;
  /** The headline ratios worth a line in SUMMARY.md; all of them when absent. */
  readonly key?: readonly string[];
  /** Caveats about the whole benchmark, printed under its run info. */
  readonly notes?: readonly string[];
}

/** Turns one benchmark's parsed JSON into the common shape; must not throw on missing figures. */
export type Adapter = (json: unknown) => BenchReport;

/** What every JSON carries (written by bench/lib/report.ts writeResults), read leniently. */
export interface RunInfo {
  readonly benchmark: string;
  readonly date: string | null;
  readonly quick: boolean | null;
  readonly runs: number | null;
  readonly machine: {
    readonly node: string | null;
    readonly platform: string | null;
    readonly cpu: string | null;
    readonly cores: number | null;
    readonly memoryGiB: number | null;
  };
}
