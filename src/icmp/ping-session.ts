/**
 * One ping (a "session") as the tracker keeps it: its settings, its window of sequence slots, the serials
 * waiting to expire, and its statistics. A plain mutable struct that only PingTracker (ping-tracker.ts)
 * changes; see there for how slots and serials make 16-bit sequence numbers safe to wrap.
 */
import { MAX_IDENTIFIER, SEQUENCE_SPACE } from './layout.js';
import type { PingResult, PingSession, ResolvedPingOptions } from './ping-options.js';
import { PingStatistics, type PingStatisticsSummary } from './ping-statistics.js';

// Slot states of a session's sequence window.
export const FREE = 0;
export const OUTSTANDING = 1;
export const ANSWERED = 2;
export const TIMED_OUT = 3;
export const ERRORED = 4;

export class Session implements PingSession {
  readonly target: string;
  readonly address: number;
  readonly identifier: number;
  readonly key: number;
  readonly options: ResolvedPingOptions;
  readonly result: Promise<PingResult>;
  readonly stats = new PingStatistics();
  /** Window slots: one per sequence number that can be outstanding at once. */
  readonly slots: number;
  readonly state: Uint8Array;
  readonly sentAt: Float64Array;
  readonly serialOf: Float64Array;
  /** Serials in send order, for expiry (a probe's deadline is its send time plus the one timeout). */
  expiry: number[] = [];
  expiryHead = 0;
  nextSerial = 0;
  outstanding = 0;
  nextSendAt: number;
  startedAt = Number.NaN;
  queued = false;
  /** When the heap holds this session's live send / expire wake-up; NaN when it does not. */
  sendWakeAt = Number.NaN;
  expireWakeAt = Number.NaN;
  finished = false;
  resolve!: (result: PingResult) => void;
  reject!: (error: unknown) => void;
  /** Undoes what `start` hooked up for this session (an abort listener). */
  detach: (() => void) | undefined;
  readonly #cancel: (session: Session) => void;

  constructor(
    cancel: (session: Session) => void,
    target: string,
    address: number,
    identifier: number,
    options: ResolvedPingOptions,
    now: number,
  ) {
    this.#cancel = cancel;
    this.target = target;
    this.address = address;
    this.identifier = identifier;
    this.key = sessionKey(address, identifier);
    this.options = options;
    this.slots = Math.min(options.count, SEQUENCE_SPACE);
    this.state = new Uint8Array(this.slots);
    this.sentAt = new Float64Array(this.slots);
    this.serialOf = new Float64Array(this.slots);
    this.nextSendAt = now;
    this.result = new Promise<PingResult>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  statistics(): PingStatisticsSummary {
    return this.stats.summary();
  }

  cancel(): void {
    this.#cancel(this);
  }
}

/** The key a session is found by: (target address, identifier), as Linux ping sockets match replies. */
export function sessionKey(address: number, identifier: number): number {
  // Both parts unsigned: 32 + 16 bits stay exact in a double.
  return address * (MAX_IDENTIFIER + 1) + identifier;
}

/** The slot of `sequence` in a session's window, or -1 when no probe of the session can carry it. */
export function slotOf(session: Session, sequence: number): number {
  // A window smaller than 65536 (a short ping) holds sequence s in slot s, and nothing above its count.
  return sequence < session.slots ? sequence : -1;
}
