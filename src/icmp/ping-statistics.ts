/**
 * Ping statistics computed exactly as iputils `ping` computes its summary (ping/ping_common.c, `finish()`
 * and `gather_statistics()`), so that sockshard's figures and `ping`'s agree to the microsecond:
 *
 * - round-trip times are whole microseconds;
 * - duplicates add to the sums, the minimum and the maximum (iputils times a reply before it knows it is a
 *   duplicate), and `total = received + duplicates`;
 * - avg = trunc(tsum / total);
 * - mdev = isqrt(trunc((tsum2 - tsum * tsum / total) / total)), which is sqrt(mean(rtt²) - mean(rtt)²)
 *   computed in iputils' order (its comment: "slightly clumsy computation order is important to avoid
 *   integer rounding errors for small ping times"), with iputils' integer Newton square root (`llsqrt`); when
 *   tsum reaches INT_MAX iputils switches to tsum2 / total - avg², and so does this;
 * - loss = (transmitted - received) * 100 / transmitted, duplicates not counted as received, errors
 *   (ICMP unreachable / time exceeded about a probe) counted as lost.
 */

const US_PER_MS = 1_000;
/** iputils switches variance formulas when the sum of microseconds reaches C's INT_MAX. */
const INT_MAX = 2_147_483_647;
const PERCENT = 100;
/** `%g` prints 6 significant digits. */
const G_DIGITS = 6;

/**
 *
 * @example
 * ```ts
 * const { rtt } = await context.ping('127.0.0.1');
 * if (rtt !== null) console.log(`min/avg/max/mdev ${rtt.minMs}/${rtt.avgMs}/${rtt.maxMs}/${rtt.mdevMs} ms`);
 * ```
 */
export interface RttSummary {
  /** Milliseconds, from whole microseconds (what iputils prints as `%ld.%03ld`). */
  readonly minMs: number;
  readonly avgMs: number;
  readonly maxMs: number;
  readonly mdevMs: number;
}

/**
 *
 * @example
 * ```ts
 * const summary = await context.ping('127.0.0.1', { count: 10 });
 * console.log(`${summary.transmitted} sent, ${summary.received} received, ${summary.lossPercent}% loss`);
 * ```
 */
export interface PingStatisticsSummary {
  readonly transmitted: number;
  /** Replies, duplicates excluded. */
  readonly received: number;
  readonly duplicates: number;
  /** ICMP errors (unreachable, time exceeded) about our probes. */
  readonly errors: number;
  /** Replies that came after their probe had timed out (not counted as received). */
  readonly late: number;
  /** `(transmitted - received) * 100 / transmitted`; 0 before anything is sent. */
  readonly lossPercent: number;
  /** Null until a reply arrived. */
  readonly rtt: RttSummary | null;
}

export class PingStatistics {
  transmitted = 0;
  received = 0;
  duplicates = 0;
  errors = 0;
  late = 0;
  #tsum = 0;
  #tsum2 = 0;
  #tmin = Number.POSITIVE_INFINITY;
  #tmax = 0;

  /** One probe sent. */
  recordTransmit(): void {
    this.transmitted++;
  }

  /** A reply whose round trip took `rttMs` (rounded to the microsecond; negative counts as 0). */
  recordReply(rttMs: number, duplicate = false): void {
    this.recordReplyMicros(Math.max(0, Math.round(rttMs * US_PER_MS)), duplicate);
  }

  /** A reply whose round trip took `rttUs` whole microseconds. */
  recordReplyMicros(rttUs: number, duplicate = false): void {
    this.#tsum += rttUs;
    this.#tsum2 += rttUs * rttUs;
    if (rttUs < this.#tmin) this.#tmin = rttUs;
    if (rttUs > this.#tmax) this.#tmax = rttUs;
    if (duplicate) this.duplicates++;
    else this.received++;
  }

  recordError(): void {
    this.errors++;
  }

  recordLate(): void {
    this.late++;
  }

  summary(): PingStatisticsSummary {
    const { transmitted, received, duplicates, errors, late } = this;
    const lossPercent = transmitted === 0 ? 0 : ((transmitted - received) * PERCENT) / transmitted;
    return { transmitted, received, duplicates, errors, late, lossPercent, rtt: this.#rtt() };
  }

  #rtt(): RttSummary | null {
    // iputils prints the rtt line only when something (not a duplicate) was received.
    if (this.received === 0) return null;
    const total = this.received + this.duplicates;
    const tsum = this.#tsum;
    const avg = Math.trunc(tsum / total);
    const variance =
      tsum < INT_MAX
        ? Math.trunc((this.#tsum2 - (tsum * tsum) / total) / total)
        : Math.trunc(this.#tsum2 / total - avg * avg);
    return {
      minMs: this.#tmin / US_PER_MS,
      avgMs: avg / US_PER_MS,
      maxMs: this.#tmax / US_PER_MS,
      mdevMs: integerSqrt(variance) / US_PER_MS,
    };
  }
}

/**
 * iputils' `llsqrt`, step for step: Newton's method on integers, stopping when an iterate stops decreasing
 * and returning that iterate. That is floor(sqrt(a)) except when a = n² - 1, where Newton steps from n - 1
 * back up to n and n is returned; kept so that mdev agrees with ping's to the microsecond.
 */
export function integerSqrt(a: number): number {
  let x = a;
  if (x > 0) {
    let previous = Number.POSITIVE_INFINITY;
    while (x < previous) {
      previous = x;
      x = Math.floor((x + Math.floor(a / x)) / 2);
    }
  }
  return x;
}

/**
 * The statistics lines iputils prints after `--- host ping statistics ---`, e.g.
 * `5 packets transmitted, 5 received, 0% packet loss` and `rtt min/avg/max/mdev = 0.014/0.019/0.026/0.003 ms`.
 * (`ping` adds `, time Nms` to the first line and pipe / ipg figures to the second; this does not.)
 */
export function formatPingStatistics(summary: PingStatisticsSummary): string {
  let line = `${summary.transmitted} packets transmitted, ${summary.received} received`;
  if (summary.duplicates > 0) line += `, +${summary.duplicates} duplicates`;
  if (summary.errors > 0) line += `, +${summary.errors} errors`;
  if (summary.transmitted > 0) line += `, ${formatG(summary.lossPercent)}% packet loss`;
  if (summary.rtt === null) return line;
  const { minMs, avgMs, maxMs, mdevMs } = summary.rtt;
  return `${line}\nrtt min/avg/max/mdev = ${[minMs, avgMs, maxMs, mdevMs].map(formatMs).join('/')} ms`;
}

/** `%ld.%03ld` of whole microseconds. */
function formatMs(ms: number): string {
  const us = Math.round(ms * US_PER_MS);
  return `${Math.trunc(us / US_PER_MS)}.${String(us % US_PER_MS).padStart(3, '0')}`;
}

/** C's `%g` of the loss, which iputils casts to `float` before printing. */
function formatG(value: number): string {
  return String(Number(Math.fround(value).toPrecision(G_DIGITS)));
}
