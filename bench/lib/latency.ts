/**
 * Latency percentiles from an HdrHistogram (hdr-histogram-js, which autocannon uses too): values are
 * recorded in nanoseconds with 3 significant digits, so a percentile is exact to 0.1% whatever the range.
 */
import { build, type Histogram } from 'hdr-histogram-js';

export interface LatencySummary {
  readonly p50: number;
  readonly p99: number;
  readonly mean: number;
  readonly count: number;
}

export class Latencies {
  readonly #histogram: Histogram = build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 600_000_000_000,
    numberOfSignificantValueDigits: 3,
  });

  /** Records one latency in milliseconds. */
  recordMs(ms: number): void {
    this.#histogram.recordValue(Math.max(1, Math.round(ms * 1e6)));
  }

  get count(): number {
    return this.#histogram.totalCount;
  }

  /** Percentiles in milliseconds; null when nothing was recorded. */
  summaryMs(): LatencySummary | null {
    const h = this.#histogram;
    if (h.totalCount === 0) return null;
    return {
      p50: h.getValueAtPercentile(50) / 1e6,
      p99: h.getValueAtPercentile(99) / 1e6,
      mean: h.mean / 1e6,
      count: h.totalCount,
    };
  }
}
