/**
 * A shard's ping bookkeeping: the probes it has in flight to many targets at once, matched to the replies
 * and ICMP errors the coordinator routes back to it. This is what `ctx.ping(host, { count, intervalMs,
 * timeoutMs, size })` runs on, and what an fping-like sweep of thousands of hosts runs on.
 *
 * No I/O: the tracker never touches a socket or a ring. It calls `send(probe)` when a probe is due (the
 * shard writes an echo request into its ring with `writeEchoRequest` and returns whether the ring took it),
 * and is told `handle(packet, at)` when a packet for it arrives. Time comes from an injected clock, which
 * also sets the one timer the whole tracker needs (the earliest of every session's next send and next probe
 * deadline, kept in a heap), so tests run on made-up time and thousands of sessions cost one timer.
 *
 * Matching, and why 16-bit sequence numbers can wrap safely:
 * - each ping (a "session") gets its own identifier from the shard's range, unique per target address, so a
 *   reply finds its session by (source address, identifier), as Linux ping sockets match by identifier;
 * - within a session, probe n carries sequence `n mod 65536` and sits in slot `n mod 65536` of a window
 *   until it is answered, times out or draws an ICMP error; a slot is reused only once its previous probe
 *   is resolved (a session that would need more than 65536 probes in flight waits instead), so a sequence
 *   number names exactly one outstanding probe;
 * - a reply that comes back after its probe timed out and its slot was reused would still match the new
 *   probe by sequence, so the echo data carries the probe's full serial (see echo-request.ts) and a reply
 *   whose serial disagrees is counted late, not received.
 *
 * Statistics follow iputils (ping-statistics.ts); loss counts timeouts and errors; a reply after its
 * probe's timeout is `late` (as fping ignores late replies), not received.
 */

import { EngineStateError, IcmpIdentifiersExhaustedError, InvalidOptionError } from '../errors.js';
import { formatIpv4, parseIpv4 } from '../ip-address.js';
import { type PingClock, systemClock } from './clock.js';
import { readEchoSerial } from './echo-request.js';
import type { IcmpPacket } from './icmp-packet.js';
import { MAX_IDENTIFIER, SEQUENCE_SPACE } from './layout.js';
import {
  type PingOptions,
  type PingResult,
  type PingSession,
  type ProbeStatus,
  resolvePingOptions,
} from './ping-options.js';
import {
  ANSWERED,
  ERRORED,
  FREE,
  OUTSTANDING,
  Session,
  sessionKey,
  slotOf,
  TIMED_OUT,
} from './ping-session.js';
import { TimerHeap } from './timer-heap.js';
import { TokenBucket } from './token-bucket.js';

/** One probe to send: write it with `writeEchoRequest(view, offset, probe)` and send it to `target`. */
export interface PingProbe {
  readonly target: string;
  /** `target` as an unsigned 32-bit number. */
  readonly targetAddress: number;
  readonly identifier: number;
  /** `serial mod 65536`. */
  readonly sequence: number;
  /** 0 for the session's first probe, then 1, 2, ... */
  readonly serial: number;
  /** Echo data bytes. */
  readonly size: number;
  /** Send time on the tracker's clock. */
  readonly timestamp: number;
}

export interface PingTrackerOptions {
  /** First echo identifier this shard owns (`shardIdentifierRange(...).start`). */
  readonly identifierStart: number;
  /** One past the last identifier it owns. */
  readonly identifierEnd: number;
  /** Hands a due probe to the coordinator; false when it cannot now (ring full): retried after `retryMs`. */
  readonly send: (probe: PingProbe) => boolean;
  /** Probes per second for the whole tracker (default: no limit). */
  readonly ratePerSecond?: number;
  /** Probes that may go at once after a quiet spell (default: 10 ms worth of the rate, at least 1). */
  readonly burst?: number;
  readonly clock?: PingClock;
  /** Wait after `send` returned false, ms (default 1). */
  readonly retryMs?: number;
  /** For error messages. */
  readonly shardId?: number;
}

/** What `handle` did with a packet. */
export type TrackOutcome = 'reply' | 'duplicate' | 'late' | 'error' | 'unknown' | 'ignored';

export interface PingTrackerCounters {
  sent: number;
  replies: number;
  duplicates: number;
  late: number;
  timeouts: number;
  errors: number;
  /** Replies and errors that match no session or no probe. */
  unknown: number;
  /** `send` returned false. */
  sendStalls: number;
}

/** The echo reply fields the tracker reads (an `EchoPacket` has them). */
export interface EchoReplyFields {
  readonly identifier: number;
  readonly sequence: number;
  readonly sourceAddress: number;
  readonly data?: Uint8Array;
}

/** The ICMP error fields the tracker reads (an `IcmpErrorPacket` has them). */
export interface EchoErrorFields {
  readonly type: number;
  readonly code: number;
  readonly sourceAddress: number;
  readonly quotedEchoIdentifier: number;
  readonly quotedEchoSequence: number;
  readonly quotedDestinationAddress: number;
}

const BURST_WINDOW_MS = 10;
const MS_PER_SECOND = 1_000;
/** Data long enough to carry the serial (echo-request.ts). */
const SERIAL_DATA = 12;
const SERIAL_SPACE = 2 ** 32;
const COMPACT_AT = 1_024;

const SEND = 0;
const EXPIRE = 1;

interface Wake {
  readonly at: number;
  readonly session: Session;
  readonly kind: typeof SEND | typeof EXPIRE;
}

export class PingTracker {
  readonly counters: PingTrackerCounters = {
    sent: 0,
    replies: 0,
    duplicates: 0,
    late: 0,
    timeouts: 0,
    errors: 0,
    unknown: 0,
    sendStalls: 0,
  };
  readonly #start: number;
  readonly #end: number;
  readonly #send: (probe: PingProbe) => boolean;
  readonly #clock: PingClock;
  readonly #bucket: TokenBucket;
  readonly #retryMs: number;
  readonly #shardId: number | undefined;
  readonly #sessions = new Map<number, Session>();
  readonly #heap = new TimerHeap<Wake>();
  #ready: Session[] = [];
  #readyHead = 0;
  #cursor = 0;
  #inFlight = 0;
  #blockedUntil = Number.NEGATIVE_INFINITY;
  #timer: unknown;
  #armedAt = Number.POSITIVE_INFINITY;
  #pumping = false;
  #again = false;
  #closed = false;

  constructor(options: PingTrackerOptions) {
    const { identifierStart: start, identifierEnd: end } = options;
    if (
      !Number.isInteger(start) ||
      !Number.isInteger(end) ||
      start < 0 ||
      end <= start ||
      end > MAX_IDENTIFIER + 1
    ) {
      throw new InvalidOptionError(
        'identifierStart',
        `identifiers [${String(start)}, ${String(end)}) must be a non-empty range inside [0, 65536)`,
      );
    }
    if (typeof options.send !== 'function') throw new InvalidOptionError('send', 'must be a function');
    const rate = options.ratePerSecond ?? Number.POSITIVE_INFINITY;
    const burst =
      options.burst ??
      (Number.isFinite(rate) ? Math.max(1, Math.ceil((rate * BURST_WINDOW_MS) / MS_PER_SECOND)) : 1);
    const retryMs = options.retryMs ?? 1;
    if (!(retryMs >= 0) || !Number.isFinite(retryMs)) {
      throw new InvalidOptionError(
        'retryMs',
        `must be a finite number of at least 0, got ${String(retryMs)}`,
      );
    }
    this.#start = start;
    this.#end = end;
    this.#send = options.send;
    this.#clock = options.clock ?? systemClock;
    this.#bucket = new TokenBucket(rate, burst, this.#clock.now());
    this.#retryMs = retryMs;
    this.#shardId = options.shardId;
  }

  /** Probes sent and not yet resolved, over all sessions. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Sessions still running. */
  get sessions(): number {
    return this.#sessions.size;
  }

  /**
   * Starts pinging `target` (an IPv4 address; resolve host names first). The first probe is handed to
   * `send` before this returns, unless the rate limit or a full ring holds it back.
   */
  start(target: string, options: PingOptions = {}): PingSession {
    if (this.#closed) throw new EngineStateError('the ping tracker is closed');
    const address = parseIpv4(target);
    if (address < 0) {
      throw new InvalidOptionError(
        'target',
        `must be an IPv4 address (resolve host names first), got ${target}`,
      );
    }
    const now = this.#clock.now();
    const resolved = resolvePingOptions(options);
    const session = new Session(
      this.#cancelSession,
      formatIpv4(address),
      address,
      this.#allocate(address, target),
      resolved,
      now,
    );
    this.#sessions.set(session.key, session);
    const signal = options.signal;
    if (signal !== undefined) {
      if (signal.aborted) {
        this.#finish(session, now, true);
        return session;
      }
      const onAbort = () => session.cancel();
      signal.addEventListener('abort', onAbort, { once: true });
      session.detach = () => signal.removeEventListener('abort', onAbort);
    }
    this.#schedule(session, now);
    this.#pump();
    return session;
  }

  /** `start(target, options).result`. */
  ping(target: string, options: PingOptions = {}): Promise<PingResult> {
    return this.start(target, options).result;
  }

  /**
   * A packet the coordinator routed to this shard arrived; `at` is when it was received, on this tracker's
   * clock (the coordinator's stamp: the ring hop is not part of the round trip). Echo replies and ICMP
   * errors about our echo requests are matched; anything else is `ignored`.
   */
  handle(packet: IcmpPacket, at: number): TrackOutcome {
    switch (packet.kind) {
      case 'echoReply':
        return this.reply(packet, at);
      case 'unreachable':
      case 'timeExceeded':
        return packet.quotedEchoIdentifier < 0 ? 'ignored' : this.error(packet, at);
      default:
        return 'ignored';
    }
  }

  /** An echo reply arrived at `at`. */
  reply(fields: EchoReplyFields, at: number): TrackOutcome {
    const session = this.#sessions.get(sessionKey(fields.sourceAddress, fields.identifier));
    const slot = session === undefined ? -1 : slotOf(session, fields.sequence);
    if (session === undefined || slot < 0 || session.state[slot] === FREE) {
      this.counters.unknown++;
      return 'unknown';
    }
    const serial = session.serialOf[slot]!;
    const data = fields.data;
    if (
      data !== undefined &&
      session.options.size >= SERIAL_DATA &&
      data.length >= SERIAL_DATA &&
      readEchoSerial(data) !== serial % SERIAL_SPACE
    ) {
      return this.#late(session);
    }
    const state = session.state[slot]!;
    if (state === TIMED_OUT || state === ERRORED) return this.#late(session);
    // A receive stamp earlier than the send (two threads' clocks) counts as 0, as iputils does.
    const rttMs = Math.max(0, at - session.sentAt[slot]!);
    if (state === ANSWERED) {
      session.stats.recordReply(rttMs, true);
      this.counters.duplicates++;
      this.#emit(session, 'duplicate', serial, rttMs, fields.sourceAddress, -1, -1);
      return 'duplicate';
    }
    session.stats.recordReply(rttMs);
    this.counters.replies++;
    this.#resolveSlot(session, slot, ANSWERED);
    this.#emit(session, 'reply', serial, rttMs, fields.sourceAddress, -1, -1);
    this.#settle(session, at);
    return 'reply';
  }

  /** An ICMP error quoting one of our echo requests arrived at `at`. */
  error(fields: EchoErrorFields, at: number): TrackOutcome {
    const session = this.#sessions.get(
      sessionKey(fields.quotedDestinationAddress, fields.quotedEchoIdentifier),
    );
    const slot = session === undefined ? -1 : slotOf(session, fields.quotedEchoSequence);
    if (session === undefined || slot < 0 || session.state[slot] === FREE) {
      this.counters.unknown++;
      return 'unknown';
    }
    if (session.state[slot] !== OUTSTANDING) return this.#late(session);
    session.stats.recordError();
    this.counters.errors++;
    this.#resolveSlot(session, slot, ERRORED);
    const serial = session.serialOf[slot]!;
    this.#emit(session, 'error', serial, Number.NaN, fields.sourceAddress, fields.type, fields.code);
    this.#settle(session, at);
    return 'error';
  }

  /** Cancels one session (what `session.cancel()` does). */
  cancel(session: PingSession): void {
    if (session instanceof Session) this.#cancelSession(session);
  }

  readonly #cancelSession = (session: Session): void => {
    if (session.finished) return;
    this.#finish(session, this.#clock.now(), true);
    this.#arm();
  };

  /** Cancels every session and stops the timer; the tracker cannot start new pings afterwards. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const now = this.#clock.now();
    for (const session of [...this.#sessions.values()]) this.#finish(session, now, true);
    this.#heap.clear();
    this.#ready = [];
    this.#readyHead = 0;
    this.#disarm();
  }

  #allocate(address: number, target: string): number {
    const span = this.#end - this.#start;
    for (let i = 0; i < span; i++) {
      const offset = (this.#cursor + i) % span;
      if (!this.#sessions.has(sessionKey(address, this.#start + offset))) {
        // Round-robin, so a finished ping's identifier is reused as late as possible (late replies to it
        // then find no session instead of a new one).
        this.#cursor = (offset + 1) % span;
        return this.#start + offset;
      }
    }
    throw new IcmpIdentifiersExhaustedError(target, this.#start, this.#end, this.#shardId);
  }

  #late(session: Session): TrackOutcome {
    session.stats.recordLate();
    this.counters.late++;
    return 'late';
  }

  #resolveSlot(session: Session, slot: number, state: number): void {
    session.state[slot] = state;
    session.outstanding--;
    this.#inFlight--;
  }

  /** After a probe resolved: the session may send again (window) or be done; then send what is due. */
  #settle(session: Session, now: number): void {
    if (session.finished) return;
    this.#schedule(session, now);
    this.#finishIfDone(session, now);
    this.#pump();
  }

  #emit(
    session: Session,
    status: ProbeStatus,
    serial: number,
    rttMs: number,
    fromAddress: number,
    icmpType: number,
    icmpCode: number,
  ): void {
    const onProbe = session.options.onProbe;
    if (onProbe === undefined) return;
    const sequence = serial % SEQUENCE_SPACE;
    const from = fromAddress < 0 ? '' : formatIpv4(fromAddress);
    try {
      onProbe({ status, serial, sequence, rttMs, from, icmpType, icmpCode });
    } catch (error) {
      this.#fail(session, error);
    }
  }

  /** Puts a session in the ready queue, or wakes it later, or leaves it to be woken by a resolving probe. */
  #schedule(session: Session, now: number): void {
    if (session.finished || session.queued || session.nextSerial >= session.options.count) return;
    if (session.outstanding >= session.options.maxInFlight) return;
    if (session.state[session.nextSerial % session.slots] === OUTSTANDING) return;
    if (session.nextSendAt <= now) {
      session.queued = true;
      this.#ready.push(session);
    } else if (session.sendWakeAt !== session.nextSendAt) {
      session.sendWakeAt = session.nextSendAt;
      this.#heap.push({ at: session.nextSendAt, session, kind: SEND });
    }
  }

  #pump(): void {
    if (this.#pumping) {
      // A callback (send, onProbe) re-entered: finish this pass first, then go round again.
      this.#again = true;
      return;
    }
    this.#pumping = true;
    try {
      do {
        this.#again = false;
        const now = this.#clock.now();
        for (let wake = this.#heap.popDue(now); wake !== undefined; wake = this.#heap.popDue(now)) {
          const session = wake.session;
          if (session.finished) continue;
          if (wake.kind === SEND) {
            if (session.sendWakeAt !== wake.at) continue;
            session.sendWakeAt = Number.NaN;
            this.#schedule(session, now);
          } else {
            if (session.expireWakeAt !== wake.at) continue;
            session.expireWakeAt = Number.NaN;
            this.#expire(session, now);
          }
        }
        this.#sendReady(now);
      } while (this.#again);
    } finally {
      this.#pumping = false;
    }
    this.#arm();
  }

  #sendReady(now: number): void {
    if (now < this.#blockedUntil) return;
    while (this.#readyHead < this.#ready.length) {
      const session = this.#ready[this.#readyHead]!;
      const slot = session.nextSerial % session.slots;
      if (
        session.finished ||
        session.nextSerial >= session.options.count ||
        session.outstanding >= session.options.maxInFlight ||
        session.state[slot] === OUTSTANDING ||
        session.nextSendAt > now
      ) {
        this.#dequeue(session);
        this.#schedule(session, now);
        continue;
      }
      if (!this.#bucket.take(now)) break;
      const serial = session.nextSerial;
      // A fresh stamp per probe: earlier sends of this pass (ring writes) must not count in its round trip.
      const sentAt = this.#clock.now();
      const probe: PingProbe = {
        target: session.target,
        targetAddress: session.address,
        identifier: session.identifier,
        sequence: serial % SEQUENCE_SPACE,
        serial,
        size: session.options.size,
        timestamp: sentAt,
      };
      let accepted: boolean;
      try {
        accepted = this.#send(probe) === true;
      } catch (error) {
        this.#bucket.refund();
        this.#dequeue(session);
        this.#fail(session, error);
        continue;
      }
      if (!accepted) {
        // The ring is full: everyone else would be refused too, so stop until it has had time to drain.
        this.#bucket.refund();
        this.counters.sendStalls++;
        this.#blockedUntil = now + this.#retryMs;
        break;
      }
      this.#dequeue(session);
      this.#recordSent(session, slot, serial, sentAt);
    }
    if (this.#readyHead > COMPACT_AT && this.#readyHead * 2 > this.#ready.length) {
      this.#ready = this.#ready.slice(this.#readyHead);
      this.#readyHead = 0;
    }
  }

  #dequeue(session: Session): void {
    this.#readyHead++;
    session.queued = false;
  }

  #recordSent(session: Session, slot: number, serial: number, now: number): void {
    if (serial === 0) session.startedAt = now;
    session.nextSerial++;
    session.state[slot] = OUTSTANDING;
    session.sentAt[slot] = now;
    session.serialOf[slot] = serial;
    session.outstanding++;
    session.stats.recordTransmit();
    session.expiry.push(serial);
    this.#inFlight++;
    this.counters.sent++;
    if (Number.isNaN(session.expireWakeAt)) {
      session.expireWakeAt = now + session.options.timeoutMs;
      this.#heap.push({ at: session.expireWakeAt, session, kind: EXPIRE });
    }
    // Keep to the interval without drifting, but never burst to make up for more than one missed interval.
    let next = session.nextSendAt + session.options.intervalMs;
    if (next < now - session.options.intervalMs) next = now;
    session.nextSendAt = next;
    this.#schedule(session, now);
  }

  #expire(session: Session, now: number): void {
    const { expiry, slots } = session;
    while (session.expiryHead < expiry.length) {
      const serial = expiry[session.expiryHead]!;
      const slot = serial % slots;
      if (session.serialOf[slot] !== serial || session.state[slot] !== OUTSTANDING) {
        session.expiryHead++;
        continue;
      }
      const deadline = session.sentAt[slot]! + session.options.timeoutMs;
      if (deadline > now) {
        session.expireWakeAt = deadline;
        this.#heap.push({ at: deadline, session, kind: EXPIRE });
        break;
      }
      session.expiryHead++;
      this.counters.timeouts++;
      this.#resolveSlot(session, slot, TIMED_OUT);
      this.#emit(session, 'timeout', serial, Number.NaN, -1, -1, -1);
      if (session.finished) return;
    }
    if (session.expiryHead > COMPACT_AT && session.expiryHead * 2 > expiry.length) {
      session.expiry = expiry.slice(session.expiryHead);
      session.expiryHead = 0;
    }
    this.#schedule(session, now);
    this.#finishIfDone(session, now);
  }

  #finishIfDone(session: Session, now: number): void {
    if (!session.finished && session.nextSerial >= session.options.count && session.outstanding === 0) {
      this.#finish(session, now, false);
    }
  }

  #finish(session: Session, now: number, cancelled: boolean): void {
    this.#close(session);
    const elapsedMs = Number.isNaN(session.startedAt) ? 0 : now - session.startedAt;
    session.resolve({
      ...session.stats.summary(),
      target: session.target,
      identifier: session.identifier,
      elapsedMs,
      cancelled,
    });
  }

  #fail(session: Session, error: unknown): void {
    if (session.finished) return;
    this.#close(session);
    session.reject(error);
  }

  #close(session: Session): void {
    session.finished = true;
    this.#inFlight -= session.outstanding;
    this.#sessions.delete(session.key);
    session.detach?.();
  }

  #arm(): void {
    if (this.#closed) return;
    if (this.#sessions.size === 0) {
      // Only stale wake-ups can be left: drop them, so that an idle shard holds no timer (and can exit).
      this.#heap.clear();
      this.#ready = [];
      this.#readyHead = 0;
      this.#disarm();
      return;
    }
    const now = this.#clock.now();
    let wake = this.#heap.peekAt();
    if (this.#readyHead < this.#ready.length) {
      wake = Math.min(wake, Math.max(this.#bucket.nextAt(now), this.#blockedUntil));
    }
    if (wake === this.#armedAt) return;
    this.#disarm();
    if (wake === Number.POSITIVE_INFINITY) return;
    this.#armedAt = wake;
    this.#timer = this.#clock.setTimeout(
      () => {
        this.#timer = undefined;
        this.#armedAt = Number.POSITIVE_INFINITY;
        this.#pump();
      },
      Math.max(0, wake - now),
    );
  }

  #disarm(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#armedAt = Number.POSITIVE_INFINITY;
  }
}
