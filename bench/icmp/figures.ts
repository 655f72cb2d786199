/** What every echo contender reports, so that rows line up in one table. */
export interface EchoFigures {
  readonly roundTripsPerSecond: number;
  readonly sent: number;
  readonly received: number;
  readonly lossPercent: number;
  /** Null where the tool does not print per-reply times (ping -f). */
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  readonly avgMs: number | null;
}

/** A contender that could not run here, and why (printed in its row, kept out of every ratio). */
export interface Skipped {
  readonly skipped: string;
}

export type EchoOutcome = EchoFigures | Skipped;

export function isSkipped(outcome: EchoOutcome): outcome is Skipped {
  return 'skipped' in outcome;
}

export function quantiles(rttsMs: number[]): {
  p50Ms: number | null;
  p99Ms: number | null;
  avgMs: number | null;
} {
  if (rttsMs.length === 0) return { p50Ms: null, p99Ms: null, avgMs: null };
  const sorted = Float64Array.from(rttsMs).sort();
  const at = (p: number) =>
    sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
  return { p50Ms: at(50), p99Ms: at(99), avgMs: rttsMs.reduce((a, b) => a + b, 0) / rttsMs.length };
}
