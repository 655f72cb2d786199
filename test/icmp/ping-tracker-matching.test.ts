import { describe, expect, it } from 'vitest';
import { readEchoTimestamp } from '../../src/icmp/echo-request.js';
import { parseIcmp } from '../../src/icmp/parse.js';
import type { ProbeOutcome } from '../../src/icmp/ping-options.js';
import { formatPingStatistics } from '../../src/icmp/ping-statistics.js';
import { replyTo } from '../fixtures/icmp/echo-peer.js';
import { echo, icmpError, sentEchoRequest } from '../fixtures/icmp/packets.js';
import { trackerHarness } from '../fixtures/icmp/tracker-harness.js';

const TARGET = '192.0.2.10';

describe('PingTracker: matching replies and errors to probes', () => {
  it('pings at the interval, times each reply, and sums up like ping', async () => {
    const { clock, sent, tracker } = trackerHarness();
    const outcomes: ProbeOutcome[] = [];
    const session = tracker.start(TARGET, {
      count: 4,
      intervalMs: 1_000,
      timeoutMs: 900,
      onProbe: (o) => outcomes.push(o),
    });
    expect(session).toMatchObject({ target: TARGET, identifier: 1_000 });
    for (const rtt of [0.1, 0.2, 0.3, 0.4]) {
      const probe = sent.at(-1)!;
      clock.advance(rtt);
      expect(tracker.reply(replyTo(probe), clock.now())).toBe('reply');
      clock.advance(1_000 - rtt);
    }
    expect(sent.map((probe) => probe.timestamp)).toEqual([0, 1_000, 2_000, 3_000]);
    expect(sent.map((probe) => probe.sequence)).toEqual([0, 1, 2, 3]);
    const result = await session.result;
    expect(result).toMatchObject({ target: TARGET, transmitted: 4, received: 4, cancelled: false });
    expect(result.elapsedMs).toBeCloseTo(3_000.4, 6);
    expect(outcomes.map((o) => [o.status, o.serial, o.from])).toEqual([
      ['reply', 0, TARGET],
      ['reply', 1, TARGET],
      ['reply', 2, TARGET],
      ['reply', 3, TARGET],
    ]);
    expect(outcomes.map((o) => o.rttMs)).toEqual([0.1, 0.2, 0.3, 0.4].map((v) => expect.closeTo(v, 9)));
    expect(formatPingStatistics(result)).toBe(
      '4 packets transmitted, 4 received, 0% packet loss\nrtt min/avg/max/mdev = 0.100/0.250/0.400/0.111 ms',
    );
  });

  it('takes parsed packets: an echo reply built from the probe’s own bytes', () => {
    const { sent, tracker } = trackerHarness();
    tracker.start(TARGET, { count: 1, size: 24 });
    const probe = sent[0]!;
    const reply = replyTo(probe);
    const packet = parseIcmp(echo('reply', probe.identifier, probe.sequence, reply.data, TARGET));
    if (!packet.ok) throw new Error(packet.reason);
    expect(readEchoTimestamp((packet.packet as { data: Uint8Array }).data)).toBe(probe.timestamp);
    expect(tracker.handle(packet.packet, 0.25)).toBe('reply');
    expect(tracker.handle(packet.packet, 0.5)).toBe('unknown'); // the one-probe session is over
  });

  it('counts a second reply to one probe as a duplicate, as ping does', async () => {
    const { clock, sent, tracker } = trackerHarness();
    const session = tracker.start(TARGET, { count: 2, intervalMs: 10, timeoutMs: 50 });
    clock.advance(1);
    expect(tracker.reply(replyTo(sent[0]!), 1)).toBe('reply');
    expect(tracker.reply(replyTo(sent[0]!), 2)).toBe('duplicate');
    clock.advance(10);
    expect(tracker.reply(replyTo(sent[1]!), 11.5)).toBe('reply');
    const result = await session.result;
    expect(result).toMatchObject({ transmitted: 2, received: 2, duplicates: 1, lossPercent: 0 });
    // The duplicate's 2 ms is in the sums (iputils): total 3, tsum 1000 + 2000 + 1500 µs.
    expect(result.rtt).toMatchObject({ minMs: 1, maxMs: 2, avgMs: 1.5 });
  });

  it('times out a probe after timeoutMs; its late reply is counted late, not received', async () => {
    const { clock, sent, tracker } = trackerHarness();
    const outcomes: string[] = [];
    const session = tracker.start(TARGET, {
      count: 2,
      intervalMs: 1_000,
      timeoutMs: 300,
      onProbe: (o) => outcomes.push(`${o.serial}:${o.status}`),
    });
    clock.advance(300);
    expect(outcomes).toEqual(['0:timeout']);
    expect(tracker.reply(replyTo(sent[0]!), 301)).toBe('late');
    clock.advance(700);
    expect(tracker.reply(replyTo(sent[1]!), 1_000.5)).toBe('reply');
    const result = await session.result;
    expect(result).toMatchObject({ transmitted: 2, received: 1, late: 1, lossPercent: 50 });
  });

  it('ignores a reply from another address with our identifier (someone else’s host), and unknown ids', () => {
    const { sent, tracker } = trackerHarness();
    tracker.start(TARGET, { count: 1 });
    expect(tracker.reply({ ...replyTo(sent[0]!), sourceAddress: 0xc0000299 }, 1)).toBe('unknown');
    expect(tracker.reply({ ...replyTo(sent[0]!), identifier: 1_999 }, 1)).toBe('unknown');
    expect(tracker.counters.unknown).toBe(2);
    expect(tracker.inFlight).toBe(1);
    tracker.close();
  });

  it('resolves a probe that draws an ICMP error (host unreachable quoting it) as an error, lost', async () => {
    const { sent, tracker } = trackerHarness();
    const outcomes: ProbeOutcome[] = [];
    const session = tracker.start(TARGET, { count: 1, onProbe: (o) => outcomes.push(o) });
    const probe = sent[0]!;
    const error = parseIcmp(
      icmpError(3, 1, sentEchoRequest(probe.identifier, probe.sequence, TARGET), '10.0.0.254'),
    );
    if (!error.ok) throw new Error(error.reason);
    expect(tracker.handle(error.packet, 3)).toBe('error');
    expect(outcomes).toEqual([
      expect.objectContaining({ status: 'error', serial: 0, icmpType: 3, icmpCode: 1, from: '10.0.0.254' }),
    ]);
    const result = await session.result;
    expect(result).toMatchObject({ transmitted: 1, received: 0, errors: 1, lossPercent: 100, rtt: null });
    expect(formatPingStatistics(result)).toBe(
      '1 packets transmitted, 0 received, +1 errors, 100% packet loss',
    );
  });

  it('ignores packets that are not about echoes', () => {
    const { tracker } = trackerHarness();
    const request = parseIcmp(echo('request', 1_000, 0));
    if (!request.ok) throw new Error(request.reason);
    expect(tracker.handle(request.packet, 0)).toBe('ignored');
  });

  it('gives each ping to one target its own identifier, and shares identifiers across targets', () => {
    const { tracker } = trackerHarness({ identifierStart: 10, identifierEnd: 12 });
    const a = tracker.start(TARGET, { count: 1 });
    const b = tracker.start(TARGET, { count: 1 });
    const c = tracker.start('192.0.2.11', { count: 1 });
    expect([a.identifier, b.identifier]).toEqual([10, 11]);
    expect(c.identifier).toBe(10);
    tracker.close();
  });
});
