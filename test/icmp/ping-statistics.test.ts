import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { formatPingStatistics, integerSqrt, PingStatistics } from '../../src/icmp/ping-statistics.js';

function withReplies(micros: readonly number[], transmitted = micros.length): PingStatistics {
  const stats = new PingStatistics();
  for (let i = 0; i < transmitted; i++) stats.recordTransmit();
  for (const us of micros) stats.recordReplyMicros(us);
  return stats;
}

describe('ping statistics, computed as iputils does', () => {
  it('matches a hand computation: min/avg/max/mdev with mdev = sqrt(mean(rtt²) - mean(rtt)²)', () => {
    // 100, 200, 300, 400 µs: mean 250, mean of squares 75000, variance 75000 - 62500 = 12500,
    // mdev = floor(sqrt(12500)) = 111 µs.
    const summary = withReplies([100, 200, 300, 400]).summary();
    expect(summary).toMatchObject({ transmitted: 4, received: 4, duplicates: 0, lossPercent: 0 });
    expect(summary.rtt).toEqual({ minMs: 0.1, avgMs: 0.25, maxMs: 0.4, mdevMs: 0.111 });
    expect(formatPingStatistics(summary)).toBe(
      '4 packets transmitted, 4 received, 0% packet loss\nrtt min/avg/max/mdev = 0.100/0.250/0.400/0.111 ms',
    );
  });

  it('counts duplicates in the sums but not as received, and errors and timeouts as loss', () => {
    // iputils times a reply before it knows it is a duplicate: total = 4 + 1, tsum 1500, tsum2 550000,
    // avg 300, variance trunc((550000 - 1500²/5) / 5) = 20000, mdev 141.
    const stats = withReplies([100, 200, 300, 400], 6);
    stats.recordReplyMicros(500, true);
    stats.recordError();
    const summary = stats.summary();
    expect(summary).toMatchObject({ transmitted: 6, received: 4, duplicates: 1, errors: 1 });
    expect(summary.lossPercent).toBeCloseTo(33.333_333, 5);
    expect(summary.rtt).toEqual({ minMs: 0.1, avgMs: 0.3, maxMs: 0.5, mdevMs: 0.141 });
    expect(formatPingStatistics(summary)).toBe(
      '6 packets transmitted, 4 received, +1 duplicates, +1 errors, 33.3333% packet loss\n' +
        'rtt min/avg/max/mdev = 0.100/0.300/0.500/0.141 ms',
    );
  });

  it('truncates like C integer arithmetic and rounds a fractional RTT to the microsecond', () => {
    const stats = new PingStatistics();
    for (const ms of [0.0014, 0.0026, 0.003]) {
      stats.recordTransmit();
      stats.recordReply(ms); // 1, 3, 3 µs
    }
    // avg trunc(7/3) = 2; variance trunc((19 - 49/3) / 3) = trunc(0.888...) = 0.
    expect(stats.summary().rtt).toEqual({ minMs: 0.001, avgMs: 0.002, maxMs: 0.003, mdevMs: 0 });
  });

  it('switches to iputils’ large-sum formula once the microsecond sum reaches INT_MAX', () => {
    // 700, 800, 900 s: tsum 2.4e9 µs >= INT_MAX, so variance = tsum2/3 - avg² = 6.667e15, mdev 81649658 µs.
    const summary = withReplies([700e6, 800e6, 900e6]).summary();
    expect(summary.rtt).toEqual({ minMs: 700_000, avgMs: 800_000, maxMs: 900_000, mdevMs: 81_649.658 });
  });

  it('has no rtt line until a reply arrives, and no loss before a send', () => {
    expect(new PingStatistics().summary()).toMatchObject({ lossPercent: 0, rtt: null });
    const lost = withReplies([], 3).summary();
    expect(lost).toMatchObject({ lossPercent: 100, rtt: null });
    expect(formatPingStatistics(lost)).toBe('3 packets transmitted, 0 received, 100% packet loss');
  });

  it('integerSqrt is iputils’ llsqrt, quirk included: n² - 1 gives n, not n - 1', () => {
    // Newton from above reaches n - 1, steps back up to n, and llsqrt's loop exits on the larger value.
    for (const [a, root] of [
      [0, 0],
      [1, 1],
      [2, 1],
      [3, 2],
      [4, 2],
      [8, 3],
      [12_500, 111],
      [2 ** 52, 2 ** 26],
      [2 ** 52 - 1, 2 ** 26],
    ] as const) {
      expect(integerSqrt(a), `llsqrt(${a})`).toBe(root);
    }
  });

  describe('agrees with real iputils ping output (captured from `ping` 20221126 on 127.0.0.1)', () => {
    for (const name of ['iputils-ping-c20.txt', 'iputils-ping-c50-s1200.txt']) {
      it(name, () => {
        const text = readFileSync(new URL(`../fixtures/icmp/${name}`, import.meta.url), 'utf8');
        // Below 1 ms ping prints time=%ld.%03ld: the exact microseconds it summed.
        const micros = [...text.matchAll(/time=(\d+)\.(\d{3}) ms/g)].map(
          (m) => Number(m[1]) * 1000 + Number(m[2]),
        );
        const header = /(\d+) packets transmitted, (\d+) received, (\d+)% packet loss/.exec(text)!;
        expect(micros.length).toBe(Number(header[2]));
        const ours = formatPingStatistics(withReplies(micros, Number(header[1])).summary());
        const [first, second] = ours.split('\n');
        expect(text).toContain(`${first}, time`);
        expect(text).toContain(second);
      });
    }
  });
});
