import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { formatIpv4, formatIpv6, type Ipv6Words, parseIpv4, parseIpv6 } from '../src/ip-address.js';
import { mulberry32 } from './helpers/prng.js';

/** Random words with runs of zero groups and the IPv4-mapped and -compatible prefixes, which formatting treats apart. */
function randomWords(next: () => number): Ipv6Words {
  const groups = Array.from({ length: 8 }, () => (next() % 3 === 0 ? 0 : next() & 0xffff));
  const shape = next() % 4;
  if (shape === 0) groups.fill(0, 0, 5).fill(0xffff, 5, 6); // ::ffff:a.b.c.d
  if (shape === 1) groups.fill(0, 0, 6); // ::a.b.c.d
  return [0, 2, 4, 6].map((i) => (groups[i]! << 16) | groups[i + 1]! | 0) as unknown as Ipv6Words;
}

describe('ip-address', () => {
  it('formats IPv6 as Node does and parses its own text back', () => {
    const next = mulberry32(12);
    for (let i = 0; i < 2_000; i++) {
      const words = randomWords(next);
      const text = formatIpv6(words);
      expect(text).toBe(new net.SocketAddress({ address: text, family: 'ipv6' }).address);
      expect(parseIpv6(text)).toEqual(words);
    }
  });

  it('parses any spelling of an IPv6 literal and refuses what is not one', () => {
    expect(parseIpv6('0:0:0:0:0:0:0:1')).toEqual([0, 0, 0, 1]);
    expect(parseIpv6('::ffff:7f00:1')).toEqual(parseIpv6('::ffff:127.0.0.1'));
    expect(formatIpv6(parseIpv6('::FFFF:7F00:1')!)).toBe('::ffff:127.0.0.1');
    for (const text of ['', '127.0.0.1', '::1%lo', 'fe80::1%eth0', '1::2::3', 'localhost', '::g']) {
      expect(parseIpv6(text), text).toBeUndefined();
    }
  });

  it('parses dotted quads strictly and formats signed and unsigned words alike', () => {
    expect(parseIpv4('127.0.0.1')).toBe(0x7f000001);
    expect(parseIpv4('255.255.255.255')).toBe(0xffffffff);
    for (const text of ['127.0.0.01', '256.0.0.1', '1.2.3', '1.2.3.4.5', ' 1.2.3.4', '::1']) {
      expect(parseIpv4(text), text).toBe(-1);
    }
    expect(formatIpv4(0xc0a80001)).toBe('192.168.0.1');
    expect(formatIpv4(0xc0a80001 | 0)).toBe('192.168.0.1');
  });
});
