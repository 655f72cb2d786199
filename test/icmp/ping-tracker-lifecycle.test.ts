import { describe, expect, it } from 'vitest';
import { EngineStateError, IcmpIdentifiersExhaustedError, InvalidOptionError } from '../../src/errors.js';
import type { PingOptions } from '../../src/icmp/ping-options.js';
import { replyTo } from '../fixtures/icmp/echo-peer.js';
import { trackerHarness } from '../fixtures/icmp/tracker-harness.js';

const TARGET = '192.0.2.30';

describe('PingTracker: lifecycle and bad input', () => {
  it('cancel() stops a ping: probes in flight count as lost, as when ping is interrupted', async () => {
    const { clock, sent, tracker } = trackerHarness();
    const session = tracker.start(TARGET, {
      count: Number.POSITIVE_INFINITY,
      intervalMs: 10,
      timeoutMs: 1_000,
    });
    clock.advance(35);
    tracker.reply(replyTo(sent[0]!), 35);
    session.cancel();
    const result = await session.result;
    expect(result).toMatchObject({ cancelled: true, transmitted: 4, received: 1, lossPercent: 75 });
    expect(tracker.inFlight).toBe(0);
    expect(tracker.sessions).toBe(0);
    expect(clock.pendingTimers).toBe(0);
    clock.advance(100);
    expect(sent.length).toBe(4);
  });

  it('cancels on an AbortSignal, including one aborted before the start', async () => {
    const { clock, sent, tracker } = trackerHarness();
    const controller = new AbortController();
    const session = tracker.start(TARGET, { count: 10, intervalMs: 10, signal: controller.signal });
    clock.advance(15);
    controller.abort();
    expect(await session.result).toMatchObject({ cancelled: true, transmitted: 2 });
    const early = tracker.start(TARGET, { signal: AbortSignal.abort() });
    expect(await early.result).toMatchObject({ cancelled: true, transmitted: 0 });
    expect(sent.length).toBe(2);
  });

  it('close() ends every ping and refuses new ones', async () => {
    const { tracker } = trackerHarness();
    const sessions = [tracker.start(TARGET), tracker.start('192.0.2.31')];
    tracker.close();
    for (const result of await Promise.all(sessions.map((session) => session.result))) {
      expect(result.cancelled).toBe(true);
    }
    expect(() => tracker.start(TARGET)).toThrow(EngineStateError);
  });

  it('fails only the ping whose onProbe or send throws; the others go on', async () => {
    let sends = 0;
    const { clock, sent, tracker } = trackerHarness();
    const bad = tracker.start(TARGET, {
      count: 2,
      onProbe: () => {
        throw new Error('handler bug');
      },
    });
    const good = tracker.start('192.0.2.32', { count: 1 });
    tracker.reply(replyTo(sent[0]!), 1);
    await expect(bad.result).rejects.toThrow('handler bug');
    tracker.reply(replyTo(sent[1]!), 1);
    expect(await good.result).toMatchObject({ received: 1 });

    const broken = trackerHarness({
      send: () => {
        sends++;
        throw new Error('ring gone');
      },
    });
    await expect(broken.tracker.start(TARGET).result).rejects.toThrow('ring gone');
    expect(sends).toBe(1);
    clock.advance(10_000);
  });

  it('throws IcmpIdentifiersExhaustedError when every identifier is busy with the same target', () => {
    const { tracker } = trackerHarness({ identifierStart: 7, identifierEnd: 9, shardId: 3 });
    tracker.start(TARGET);
    tracker.start(TARGET);
    expect(() => tracker.start(TARGET)).toThrow(IcmpIdentifiersExhaustedError);
    expect(() => tracker.start(TARGET)).toThrow(/from 7 to 8 .* 192\.0\.2\.30 \(shard 3\)/);
    tracker.close();
  });

  it('names the bad option', () => {
    const { tracker } = trackerHarness();
    const option = (target: string, options: PingOptions) => {
      try {
        tracker.start(target, options);
      } catch (error) {
        expect(error).toBeInstanceOf(InvalidOptionError);
        return (error as InvalidOptionError).option;
      }
      return 'no error';
    };
    expect(option('example.com', {})).toBe('target');
    expect(option('192.0.2.300', {})).toBe('target');
    expect(option(TARGET, { count: 0 })).toBe('count');
    expect(option(TARGET, { count: 1.5 })).toBe('count');
    expect(option(TARGET, { intervalMs: -1 })).toBe('intervalMs');
    expect(option(TARGET, { timeoutMs: 0 })).toBe('timeoutMs');
    expect(option(TARGET, { size: 65_508 })).toBe('size');
    expect(option(TARGET, { maxInFlight: 0 })).toBe('maxInFlight');
    expect(tracker.sessions).toBe(0);
    const invalid = (options: Parameters<typeof trackerHarness>[0]) => () => trackerHarness(options);
    expect(invalid({ identifierStart: 5, identifierEnd: 5 })).toThrow(InvalidOptionError);
    expect(invalid({ identifierStart: 0, identifierEnd: 65_537 })).toThrow(InvalidOptionError);
    expect(invalid({ ratePerSecond: 0 })).toThrow(InvalidOptionError);
    expect(invalid({ retryMs: -1 })).toThrow(InvalidOptionError);
  });
});
