import net from 'node:net';
import { describe, expect, it } from 'vitest';
import {
  formatIp,
  formatIpv4,
  formatIpv6,
  type Ipv6Words,
  parseIp,
  parseIpBlock,
  parseIpv4,
  parseIpv6,
} from '../src/ip-address.js';
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

  it('parses either family into the addon layout (IPv4 in the first word, Int32) and formats it back', () => {
    expect(parseIp('255.0.0.1')).toEqual({ family: 4, words: [0xff000001 | 0, 0, 0, 0] });
    expect(parseIp('::1')).toEqual({ family: 6, words: [0, 0, 0, 1] });
    for (const text of ['10.1.2.3', '::ffff:10.1.2.3', 'fd00::7'])
      expect(formatIp(parseIp(text)!)).toBe(text);
    for (const text of ['', '10.1.2', '010.1.2.3', 'fe80::1%eth0', 'localhost']) {
      expect(parseIp(text), text).toBeUndefined();
    }
  });

  it('parses CIDR blocks with a prefix no longer than the family allows; a bare literal is a full-length block', () => {
    expect(parseIpBlock('10.0.0.0/8')).toEqual({ family: 4, words: [0x0a000000, 0, 0, 0], prefix: 8 });
    expect(parseIpBlock('fd00::/8')).toMatchObject({ family: 6, prefix: 8 });
    expect(parseIpBlock('::/0')).toMatchObject({ family: 6, prefix: 0 });
    expect(parseIpBlock('127.0.0.1')).toMatchObject({ family: 4, prefix: 32 });
    expect(parseIpBlock('::1')).toMatchObject({ family: 6, prefix: 128 });
    expect(parseIpBlock('::1/128')).toMatchObject({ prefix: 128 });
    for (const text of [
      '10.0.0.0/33',
      '::/129',
      '10.0.0.0/',
      '10.0.0.0/-1',
      '10.0.0.0/8/8',
      '10.0.0.0/1e1',
      'x/8',
    ]) {
      expect(parseIpBlock(text), text).toBeUndefined();
    }
  });
});
