/**
 * A token bucket on a caller's clock (ms): `ratePerSecond` tokens accrue continuously up to `burst`. The
 * ping tracker takes one token per probe; it never reads a clock or sets a timer itself, so tests drive it
 * with made-up times.
 */

import { InvalidOptionError } from '../errors.js';

const MS_PER_SECOND = 1_000;

export class TokenBucket {
  readonly ratePerSecond: number;
  readonly burst: number;
  #tokens: number;
  #updatedAt: number;

  /** `ratePerSecond` may be `Infinity` (no limit). The bucket starts full. */
  constructor(ratePerSecond: number, burst: number, now: number) {
    if (!(ratePerSecond > 0)) {
      throw new InvalidOptionError(
        'ratePerSecond',
        `must be a positive number, got ${String(ratePerSecond)}`,
      );
    }
    if (!Number.isFinite(burst) || burst < 1) {
      throw new InvalidOptionError('burst', `must be a finite number of at least 1, got ${String(burst)}`);
    }
    this.ratePerSecond = ratePerSecond;
    this.burst = burst;
    this.#tokens = burst;
    this.#updatedAt = now;
  }

  /** Takes one token if there is one at `now`. */
  take(now: number): boolean {
    if (this.ratePerSecond === Number.POSITIVE_INFINITY) return true;
    this.#refill(now);
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  /** Gives back a token taken for something that did not happen (a send the ring refused). */
  refund(): void {
    if (this.ratePerSecond !== Number.POSITIVE_INFINITY)
      this.#tokens = Math.min(this.burst, this.#tokens + 1);
  }

  /** When the next token is available: `now` when one already is. */
  nextAt(now: number): number {
    if (this.ratePerSecond === Number.POSITIVE_INFINITY) return now;
    this.#refill(now);
    if (this.#tokens >= 1) return now;
    return now + ((1 - this.#tokens) * MS_PER_SECOND) / this.ratePerSecond;
  }

  #refill(now: number): void {
    // A clock that steps back (another thread's stamp) must not drain the bucket.
    const elapsed = Math.max(0, now - this.#updatedAt);
    this.#tokens = Math.min(this.burst, this.#tokens + (elapsed * this.ratePerSecond) / MS_PER_SECOND);
    this.#updatedAt = Math.max(now, this.#updatedAt);
  }
}
