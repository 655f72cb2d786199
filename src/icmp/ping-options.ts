/**
 * What `ctx.ping(host, options)` is asked and what it answers: the public types of a ping, and the options
 * checked and given their defaults (ping's: 4 probes, 1 s apart, 1 s timeout, 56 data bytes).
 */
import { InvalidOptionError } from '../errors.js';
import { checkInteger } from '../validate.js';
import { DEFAULT_ECHO_DATA, MAX_ECHO_DATA } from './layout.js';
import type { PingStatisticsSummary } from './ping-statistics.js';

/**
 * A probe answered, answered again, unanswered in time, or answered with an ICMP error.
 *
 * @example
 * ```ts
 * const onProbe = ({ status }: ProbeOutcome) => status === 'timeout' && console.warn('lost one');
 * await context.ping('127.0.0.1', { onProbe });
 * ```
 */
export type ProbeStatus = 'reply' | 'duplicate' | 'timeout' | 'error';

/**
 * What became of one probe (passed to `onProbe`).
 *
 * @example
 * ```ts
 * const result = await context.ping('127.0.0.1', {
 *   count: 3,
 *   onProbe: (probe) => console.log(probe.status, probe.sequence, probe.rttMs),
 * });
 * ```
 */
export interface ProbeOutcome {
  readonly status: ProbeStatus;
  readonly serial: number;
  readonly sequence: number;
  /** Round trip in ms for 'reply' and 'duplicate'; NaN otherwise. */
  readonly rttMs: number;
  /** Who answered or reported the error; '' for 'timeout'. */
  readonly from: string;
  /** ICMP type and code of an 'error' (3 unreachable, 11 time exceeded); -1 otherwise. */
  readonly icmpType: number;
  readonly icmpCode: number;
}

/**
 * What `context.ping(host, options)` takes; every field is optional.
 *
 * @example
 * ```ts
 * import { defineHttpHandler } from 'sockshard';
 * export default defineHttpHandler(async (request, response, context) => {
 *   const result = await context.ping('127.0.0.1', { count: 5, intervalMs: 200, timeoutMs: 500, size: 56 });
 *   response.end(`${result.lossPercent}% loss, avg ${result.rtt?.avgMs} ms\n`);
 * });
 * ```
 */
export interface PingOptions {
  /** Probes to send (default 4); `Infinity` pings until cancelled. */
  readonly count?: number;
  /** Between two probes to this target, ms (default 1000; 0 floods, bounded by `maxInFlight`). */
  readonly intervalMs?: number;
  /** How long a probe waits for its reply, ms (default 1000). */
  readonly timeoutMs?: number;
  /** Echo data bytes (default 56). */
  readonly size?: number;
  /** Most probes outstanding at once (ping's `-l` preload; default: no limit but the 65536 sequence slots). */
  readonly maxInFlight?: number;
  readonly onProbe?: (outcome: ProbeOutcome) => void;
  /** Aborting cancels the ping (its result resolves with `cancelled: true`). */
  readonly signal?: AbortSignal;
}

/**
 * What `context.ping()` resolves with: ping's statistics, and the ping's target and identifier.
 *
 * @example
 * ```ts
 * const result = await context.ping('127.0.0.1', { count: 4 });
 * console.log(result.target, result.transmitted, result.received, result.rtt?.mdevMs);
 * ```
 */
export interface PingResult extends PingStatisticsSummary {
  readonly target: string;
  readonly identifier: number;
  /** From the first send to the last resolved probe (or the cancel). */
  readonly elapsedMs: number;
  readonly cancelled: boolean;
}

/**
 *
 * @example
 * ```ts
 * // PingTracker.start() returns one; ctx.ping() awaits its result.
 * const session = tracker.start('127.0.0.1', { count: Infinity, intervalMs: 1_000 });
 * setTimeout(() => session.cancel(), 10_000);
 * console.log(await session.result);
 * ```
 */
export interface PingSession {
  readonly target: string;
  readonly identifier: number;
  /** Resolves when every probe is resolved or the session is cancelled; rejects if `onProbe` throws. */
  readonly result: Promise<PingResult>;
  /** Live figures. */
  statistics(): PingStatisticsSummary;
  /** Stops sending; probes still in flight count as lost, as when ping is interrupted. */
  cancel(): void;
}

/** `PingOptions` checked, with their defaults. */
export interface ResolvedPingOptions {
  readonly count: number;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly size: number;
  readonly maxInFlight: number;
  readonly onProbe: ((outcome: ProbeOutcome) => void) | undefined;
}

const DEFAULTS = { count: 4, intervalMs: 1_000, timeoutMs: 1_000, size: DEFAULT_ECHO_DATA } as const;

/** Checks `options` (InvalidOptionError naming the one that is wrong) and fills in the defaults. */
export function resolvePingOptions(options: PingOptions): ResolvedPingOptions {
  const count = options.count ?? DEFAULTS.count;
  const intervalMs = options.intervalMs ?? DEFAULTS.intervalMs;
  const timeoutMs = options.timeoutMs ?? DEFAULTS.timeoutMs;
  const size = options.size ?? DEFAULTS.size;
  const maxInFlight = options.maxInFlight ?? Number.POSITIVE_INFINITY;
  if (!(count === Number.POSITIVE_INFINITY || (Number.isInteger(count) && count >= 1))) {
    throw new InvalidOptionError('count', `must be a positive integer or Infinity, got ${String(count)}`);
  }
  if (!(Number.isFinite(intervalMs) && intervalMs >= 0)) {
    throw new InvalidOptionError(
      'intervalMs',
      `must be a finite number of at least 0, got ${String(intervalMs)}`,
    );
  }
  if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) {
    throw new InvalidOptionError('timeoutMs', `must be a finite positive number, got ${String(timeoutMs)}`);
  }
  checkInteger('size', size, 0, MAX_ECHO_DATA);
  if (!(maxInFlight === Number.POSITIVE_INFINITY || (Number.isInteger(maxInFlight) && maxInFlight >= 1))) {
    throw new InvalidOptionError(
      'maxInFlight',
      `must be a positive integer or Infinity, got ${String(maxInFlight)}`,
    );
  }
  if (options.onProbe !== undefined && typeof options.onProbe !== 'function') {
    throw new InvalidOptionError('onProbe', 'must be a function');
  }
  return { count, intervalMs, timeoutMs, size, maxInFlight, onProbe: options.onProbe };
}
