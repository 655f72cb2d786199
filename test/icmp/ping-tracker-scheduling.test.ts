import { describe, expect, it } from 'vitest';
import { formatIpv4 } from '../../src/ip-address.js';
import { replyTo } from '../fixtures/icmp/echo-peer.js';
import { trackerHarness } from '../fixtures/icmp/tracker-harness.js';

const TARGET = '192.0.2.20';

describe('PingTracker: scheduling', () => {
  it('counts unanswered probes as lost once each times out', async () => {
    const { clock, sent, tracker } = trackerHarness();
    const session = tracker.start(TARGET, { count: 3, intervalMs: 100, timeoutMs: 250 });
    clock.advance(200);
    expect(sent.length).toBe(3);
    expect(tracker.inFlight).toBe(3);
    clock.advance(249);
    expect(tracker.inFlight).toBe(1);
    clock.advance(1);
    const result = await session.result;
    expect(result).toMatchObject({
      transmitted: 3,
      received: 0,
      lossPercent: 100,
      rtt: null,
      elapsedMs: 450,
    });
    expect(tracker.counters.timeouts).toBe(3);
  });

  it('keeps at most maxInFlight probes outstanding and sends the next one on each reply (ping -l)', () => {
    const { sent, tracker } = trackerHarness();
    tracker.start(TARGET, { count: 100, intervalMs: 0, maxInFlight: 4 });
    expect(sent.length).toBe(4);
    expect(tracker.reply(replyTo(sent[1]!), 0.1)).toBe('reply');
    expect(sent.length).toBe(5);
    expect(tracker.inFlight).toBe(4);
    tracker.close();
  });

  it('holds thousands of targets to the rate limit, round robin, on one timer (fping)', async () => {
    const { clock, sent, tracker } = trackerHarness({ ratePerSecond: 1_000, burst: 1 });
    const targets = 2_000;
    const sessions = Array.from({ length: targets }, (_, i) =>
      tracker.start(formatIpv4(0xc6120000 + i), { count: 2, intervalMs: 500, timeoutMs: 5_000 }),
    );
    expect(sent.length).toBe(1);
    expect(clock.pendingTimers).toBe(1);
    clock.advance(999);
    expect(sent.length).toBe(1_000);
    // One probe per millisecond, first round to every target before any second probe.
    expect(sent.slice(0, 5).map((probe) => probe.timestamp)).toEqual([0, 1, 2, 3, 4]);
    expect(new Set(sent.map((probe) => probe.target)).size).toBe(1_000);
    expect(clock.pendingTimers).toBe(1);
    for (const probe of sent) tracker.reply(replyTo(probe), clock.now());
    clock.advance(3_001);
    expect(sent.length).toBe(2 * targets);
    for (const probe of sent.slice(1_000)) tracker.reply(replyTo(probe), clock.now());
    const results = await Promise.all(sessions.map((session) => session.result));
    expect(results.every((result) => result.transmitted === 2 && result.received === 2)).toBe(true);
    const gaps = sent.slice(1).map((probe, i) => probe.timestamp - sent[i]!.timestamp);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(1 - 1e-9);
    expect(clock.pendingTimers).toBe(0);
  });

  it('lets a burst go at once after a quiet spell, then paces', () => {
    const { clock, sent, tracker } = trackerHarness({ ratePerSecond: 100, burst: 5 });
    for (let i = 0; i < 10; i++) tracker.start(formatIpv4(0xc6130000 + i), { count: 1 });
    expect(sent.length).toBe(5);
    clock.advance(10);
    expect(sent.length).toBe(6);
    clock.advance(40);
    expect(sent.length).toBe(10);
    tracker.close();
  });

  it('retries after retryMs when the ring refuses a probe, without skipping a serial', async () => {
    const { clock, sent, gate, tracker } = trackerHarness({ retryMs: 2 });
    gate.accept = false;
    const session = tracker.start(TARGET, { count: 3, intervalMs: 0, timeoutMs: 100 });
    expect(sent.length).toBe(0);
    clock.advance(1);
    expect(tracker.counters.sendStalls).toBe(1);
    gate.accept = true;
    clock.advance(1);
    expect(sent.map((probe) => probe.serial)).toEqual([0, 1, 2]);
    for (const probe of sent) tracker.reply(replyTo(probe), clock.now());
    expect(await session.result).toMatchObject({ transmitted: 3, received: 3 });
  });

  it('does not burst to catch up more than one missed interval', () => {
    const { clock, sent, tracker } = trackerHarness({ ratePerSecond: 1, burst: 1 });
    tracker.start('192.0.2.1', { count: 1 });
    tracker.start(TARGET, { count: 5, intervalMs: 100, timeoutMs: 10_000 });
    expect(sent.length).toBe(1); // the second session waits a whole second for a token
    clock.advance(1_000);
    clock.advance(1_000);
    // Two tokens, one per second: the session is not owed the 19 intervals it missed.
    expect(sent.filter((probe) => probe.target === TARGET).length).toBe(2);
    tracker.close();
  });
});
