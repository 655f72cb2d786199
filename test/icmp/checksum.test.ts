import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { internetChecksum, onesComplementSum } from '../../src/icmp/checksum.js';
import { ECHO_REPLY, PORT_UNREACHABLE } from '../fixtures/icmp/captured.js';
import { below, prng } from '../helpers/prng.js';
import { requirement, testWith } from '../helpers/requirements.js';

interface RawChecksum {
  createChecksum(...parts: { buffer: Buffer; offset: number; length: number }[]): number;
}
// raw-socket's native implementation, as an independent reference (loading it needs no privilege, but a
// build for this Node).
const rawSocket = await requirement('raw-socket');
const raw =
  rawSocket.missing === '' ? (createRequire(import.meta.url)('raw-socket') as RawChecksum) : undefined;

const bytes = (text: string) => Uint8Array.from(Buffer.from(text.replaceAll(' ', ''), 'hex'));

describe('internet checksum (RFC 1071)', () => {
  it('matches the RFC 1071 §3 example and a textbook IPv4 header', () => {
    // RFC 1071 §3: 0001 f203 f4f5 f6f7 sums to ddf2 (one's complement), checksum 220d.
    const rfc = bytes('0001 f203 f4f5 f6f7');
    expect(onesComplementSum(rfc)).toBe(0xddf2);
    expect(internetChecksum(rfc)).toBe(0x220d);
    // A header with its checksum field zeroed, and the value that goes there.
    const header = bytes('4500 0073 0000 4000 4011 0000 c0a8 0001 c0a8 00c7');
    expect(internetChecksum(header)).toBe(0xb861);
    header[10] = 0xb8;
    header[11] = 0x61;
    expect(internetChecksum(header)).toBe(0);
  });

  it('pads an odd last byte with zero and chains partial sums', () => {
    expect(internetChecksum(bytes('01'))).toBe(~0x0100 & 0xffff);
    expect(internetChecksum(bytes('0102 03'))).toBe(~(0x0102 + 0x0300) & 0xffff);
    const whole = bytes('0001 f203 f4f5 f6f7 1234');
    const head = onesComplementSum(whole, 0, 4);
    expect(internetChecksum(whole, 4, 6, head)).toBe(internetChecksum(whole));
    expect(internetChecksum(new Uint8Array(0))).toBe(0xffff);
  });

  it('verifies kernel-captured packets: IPv4 header and ICMP message both sum to zero', () => {
    for (const packet of [ECHO_REPLY, PORT_UNREACHABLE]) {
      expect(internetChecksum(packet, 0, 20)).toBe(0);
      expect(internetChecksum(packet, 20)).toBe(0);
    }
  });

  testWith(rawSocket)('agrees with raw-socket’s native checksum at every alignment, length and fold', () => {
    const random = prng(1071);
    // One buffer, so that offsets probe every alignment of the Uint32 fast path (and odd starts).
    const backing = Buffer.alloc(70_000);
    for (let i = 0; i < backing.length; i++) backing[i] = below(random, 256);
    const lengths = [0, 1, 2, 3, 7, 64, 127, 128, 129, 130, 131, 255, 1_500, 4_097, 65_535];
    for (let trial = 0; trial < 400; trial++) {
      const length = trial < lengths.length * 4 ? lengths[trial % lengths.length]! : below(random, 3_000);
      const offset = trial % 8 < 4 ? trial % 8 : below(random, 64);
      if (length === 0) continue;
      const expected = raw!.createChecksum({ buffer: backing, offset, length });
      expect(internetChecksum(backing, offset, length), `offset ${offset} length ${length}`).toBe(expected);
    }
    // All-0xff words exercise the end-around carry on every fold.
    const ones = Buffer.alloc(65_536, 0xff);
    expect(internetChecksum(ones, 0, 65_536)).toBe(
      raw!.createChecksum({ buffer: ones, offset: 0, length: 65_536 }),
    );
  });

  it('reads through views that start inside a shared buffer', () => {
    const shared = new Uint8Array(new SharedArrayBuffer(4_096));
    for (let i = 0; i < shared.length; i++) shared[i] = (i * 7 + 3) & 0xff;
    const plain = Uint8Array.from(shared);
    for (const start of [0, 1, 2, 3, 6]) {
      const view = shared.subarray(start, start + 1_000);
      expect(internetChecksum(view)).toBe(internetChecksum(plain, start, 1_000));
    }
  });
});
