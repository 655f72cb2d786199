import { describe, expect, it } from 'vitest';
import type { ProbeOutcome } from '../../src/icmp/ping-options.js';
import { type PingProbe, PingTracker } from '../../src/icmp/ping-tracker.js';
import { replyTo } from '../fixtures/icmp/echo-peer.js';
import { ManualClock } from '../fixtures/icmp/manual-clock.js';

const TARGET = '192.0.2.1';

function harness() {
  const clock = new ManualClock();
  const sent: PingProbe[] = [];
  const tracker = new PingTracker({
    identifierStart: 100,
    identifierEnd: 200,
    clock,
    send: (probe) => {
      sent.push(probe);
      return true;
    },
  });
  return { clock, sent, tracker };
}

/** A distinct round trip per serial (ms), so that a reply credited to the wrong probe shows. */
const rttOf = (serial: number) => 0.01 + (serial % 13) * 0.001;

describe('16-bit sequence numbers wrap safely', () => {
  it('matches every reply of 2 x 65536 + 100 probes to one target to its own probe', async () => {
    const { clock, sent, tracker } = harness();
    const count = 2 * 65_536 + 100;
    const rtts = new Float64Array(count).fill(Number.NaN);
    const wrong: string[] = []; // collected rather than asserted per probe: 131k expect() calls are slow
    const session = tracker.start(TARGET, {
      count,
      intervalMs: 0,
      timeoutMs: 1_000,
      maxInFlight: 8,
      size: 16,
      onProbe: (outcome) => {
        if (outcome.status !== 'reply' || outcome.sequence !== outcome.serial % 65_536) {
          wrong.push(JSON.stringify(outcome));
        }
        rtts[outcome.serial] = outcome.rttMs;
      },
    });
    expect(sent.length).toBe(8); // the window
    for (let next = 0; next < sent.length; next++) {
      const probe = sent[next]!;
      clock.time = probe.timestamp + rttOf(probe.serial);
      const outcome = tracker.reply(replyTo(probe), clock.time);
      if (outcome !== 'reply' || probe.sequence !== probe.serial % 65_536)
        wrong.push(`${probe.serial}: ${outcome}`);
    }
    const result = await session.result;
    expect(wrong).toEqual([]);
    expect(sent.length).toBe(count);
    expect(result).toMatchObject({
      transmitted: count,
      received: count,
      lossPercent: 0,
      duplicates: 0,
      late: 0,
    });
    const misattributed = [...rtts.keys()].filter((serial) => Math.abs(rtts[serial]! - rttOf(serial)) > 1e-9);
    expect(misattributed).toEqual([]);
    expect(tracker.inFlight).toBe(0);
    expect(tracker.sessions).toBe(0);
  });

  it('counts a stale reply from the previous trip round the sequence space as late, not as the new probe', async () => {
    const { clock, sent, tracker } = harness();
    const count = 65_536 + 10;
    const statuses: string[] = [];
    const session = tracker.start(TARGET, {
      count,
      intervalMs: 0,
      timeoutMs: 1_000,
      maxInFlight: 1,
      size: 56,
      onProbe: (outcome: ProbeOutcome) => {
        if (outcome.sequence === 5) statuses.push(`${outcome.serial}:${outcome.status}`);
      },
    });
    let stale: PingProbe | undefined;
    for (let next = 0; next < sent.length; next++) {
      const probe = sent[next]!;
      if (probe.serial === 5) {
        stale = probe; // never answered in time: it times out and its slot is reused 65536 probes later
        clock.advance(1_000);
        continue;
      }
      clock.time += 0.02;
      if (probe.serial === 65_536 + 5) {
        // The old probe's reply finally shows up, with the same sequence (5) as the probe now outstanding.
        expect(tracker.reply(replyTo(stale!), clock.time)).toBe('late');
      }
      if (tracker.reply(replyTo(probe), clock.time) !== 'reply')
        statuses.push(`${probe.serial}: not a reply`);
    }
    const result = await session.result;
    expect(statuses).toEqual(['5:timeout', '65541:reply']);
    expect(result).toMatchObject({ transmitted: count, received: count - 1, late: 1 });
    expect(tracker.counters).toMatchObject({ timeouts: 1, late: 1, replies: count - 1 });
  });

  it('never has two probes on one sequence number: with 65536 outstanding it waits for a slot', () => {
    const { clock, sent, tracker } = harness();
    tracker.start(TARGET, { count: 70_000, intervalMs: 0, timeoutMs: 500, size: 0 });
    expect(sent.length).toBe(65_536);
    expect(tracker.inFlight).toBe(65_536);
    clock.advance(499);
    expect(sent.length).toBe(65_536);
    clock.advance(1); // every outstanding probe times out; the rest go
    expect(tracker.counters.timeouts).toBe(65_536);
    expect(sent.length).toBe(70_000);
    expect(sent.at(-1)).toMatchObject({ serial: 69_999, sequence: 69_999 - 65_536 });
    tracker.close();
  });

  it('refuses replies for sequence numbers a short ping never used', () => {
    const { sent, tracker } = harness();
    tracker.start(TARGET, { count: 3, intervalMs: 0 });
    expect(sent.length).toBe(3);
    expect(tracker.reply({ ...replyTo(sent[0]!), sequence: 3 }, 0)).toBe('unknown');
    expect(tracker.reply({ ...replyTo(sent[0]!), sequence: 60_000 }, 0)).toBe('unknown');
    tracker.close();
  });
});
