import { describe, expect, it } from 'vitest';
import { internetChecksum } from '../../src/icmp/checksum.js';
import { EchoPacket, IcmpErrorPacket, OtherIcmpPacket } from '../../src/icmp/icmp-packet.js';
import { type IcmpParseResult, parseIcmp } from '../../src/icmp/parse.js';
import {
  ECHO_REPLY,
  ECHO_REQUEST,
  PORT_UNREACHABLE,
  PORT_UNREACHABLE_DESTINATION_PORT,
  PORT_UNREACHABLE_SOURCE_PORT,
  PROTOCOL_UNREACHABLE,
  TIMESTAMP_REPLY,
} from '../fixtures/icmp/captured.js';
import { echo, icmp, icmpError, ipv4, sentEchoRequest, udpDatagram } from '../fixtures/icmp/packets.js';

function parsed(result: IcmpParseResult) {
  if (!result.ok) throw new Error(`expected a packet, got ${result.reason}`);
  return result.packet;
}

function reason(result: IcmpParseResult): string {
  return result.ok ? `ok:${result.packet.kind}` : result.reason;
}

/** Fixes the IPv4 header checksum after a test edits the header. */
function reseal(packet: Uint8Array): Uint8Array {
  const headerLength = (packet[0]! & 0x0f) * 4;
  packet[10] = 0;
  packet[11] = 0;
  const sum = internetChecksum(packet, 0, Math.min(headerLength, packet.length));
  packet[10] = sum >>> 8;
  packet[11] = sum & 0xff;
  return packet;
}

describe('parseIcmp: kernel-captured packets', () => {
  it('reads an echo reply and our own echo request', () => {
    const reply = parsed(parseIcmp(ECHO_REPLY));
    expect(reply).toBeInstanceOf(EchoPacket);
    expect(reply).toMatchObject({ kind: 'echoReply', type: 0, code: 0, identifier: 0x1234, sequence: 7 });
    expect(reply).toMatchObject({ source: '127.0.0.1', destination: '127.0.0.1', ttl: 64, length: 60 });
    expect(reply.icmpLength).toBe(40);
    if (reply.kind !== 'echoReply') throw new Error('narrowing');
    expect(reply.dataLength).toBe(32);
    expect(reply.sourceAddress).toBe(0x7f000001);

    const request = parsed(parseIcmp(ECHO_REQUEST));
    expect(request).toMatchObject({ kind: 'echoRequest', type: 8, identifier: 0x1234, sequence: 7 });
  });

  it('reads a port unreachable: the quoted UDP header names our port and the peer', () => {
    const packet = parsed(parseIcmp(PORT_UNREACHABLE));
    expect(packet).toBeInstanceOf(IcmpErrorPacket);
    expect(packet).toMatchObject({
      kind: 'unreachable',
      type: 3,
      code: 3,
      source: '127.0.0.1',
      quotedProtocol: 17,
      quotedSource: '127.0.0.1',
      quotedDestination: '127.0.0.1',
      quotedSourcePort: PORT_UNREACHABLE_SOURCE_PORT,
      quotedDestinationPort: PORT_UNREACHABLE_DESTINATION_PORT,
      quotedEchoIdentifier: -1,
      quotedEchoSequence: -1,
      nextHopMtu: 0,
    });
    if (packet.kind !== 'unreachable') throw new Error('narrowing');
    // Linux quotes the whole small datagram: IPv4 header (20) + UDP header (8) + "sockshard" (9).
    expect(packet.quotedPayloadLength).toBe(17);
  });

  it('reads a protocol unreachable whose quote has no ports, and a timestamp reply as "other"', () => {
    const unreachable = parsed(parseIcmp(PROTOCOL_UNREACHABLE));
    expect(unreachable).toMatchObject({
      kind: 'unreachable',
      code: 2,
      quotedProtocol: 253,
      quotedSourcePort: -1,
    });
    const other = parsed(parseIcmp(TIMESTAMP_REPLY));
    expect(other).toBeInstanceOf(OtherIcmpPacket);
    expect(other).toMatchObject({ kind: 'other', type: 14, code: 0 });
  });
});

describe('parseIcmp: hand-built kinds', () => {
  it('reads a time exceeded quoting a UDP datagram, from a router', () => {
    const packet = parsed(parseIcmp(icmpError(11, 0, udpDatagram(40_000, '192.0.2.9', 33_434), '10.1.2.3')));
    expect(packet).toMatchObject({
      kind: 'timeExceeded',
      type: 11,
      source: '10.1.2.3',
      quotedDestination: '192.0.2.9',
      quotedSourcePort: 40_000,
      quotedDestinationPort: 33_434,
    });
  });

  it('reads an unreachable quoting one of our echo requests (identifier and sequence)', () => {
    const packet = parsed(parseIcmp(icmpError(3, 1, sentEchoRequest(0x2345, 0xfffe, '192.0.2.50'))));
    expect(packet).toMatchObject({
      kind: 'unreachable',
      code: 1,
      quotedProtocol: 1,
      quotedDestination: '192.0.2.50',
      quotedEchoIdentifier: 0x2345,
      quotedEchoSequence: 0xfffe,
      quotedSourcePort: -1,
    });
  });

  it('reads the next-hop MTU of "fragmentation needed"', () => {
    const packet = parsed(parseIcmp(icmpError(3, 4, udpDatagram(5_000, '192.0.2.1', 53), '10.0.0.1', 1_400)));
    expect(packet).toMatchObject({
      kind: 'unreachable',
      code: 4,
      nextHopMtu: 1_400,
      quotedSourcePort: 5_000,
    });
  });

  it('finds the ICMP message after IPv4 options (IHL > 5)', () => {
    const options = Uint8Array.from([1, 1, 1, 0]); // NOP, NOP, NOP, end of list
    const packet = parsed(parseIcmp(ipv4({ options, payload: icmp(0, 0, 0x0abc0003, Uint8Array.of(9, 9)) })));
    expect(packet).toMatchObject({ kind: 'echoReply', identifier: 0x0abc, sequence: 3, icmpOffset: 24 });
  });

  it('parses at an offset inside a larger buffer and ignores bytes past the total length', () => {
    const packet = echo('reply', 77, 88, Uint8Array.of(1, 2, 3));
    const big = new Uint8Array(packet.length + 20);
    big.set(packet, 7);
    const view = parsed(parseIcmp(big, 7, packet.length + 13));
    expect(view).toMatchObject({
      kind: 'echoReply',
      identifier: 77,
      sequence: 88,
      ipOffset: 7,
      end: 7 + packet.length,
    });
  });

  it('is zero-copy: views read the caller’s memory, payload included', () => {
    const shared = new Uint8Array(new SharedArrayBuffer(256));
    shared.set(ECHO_REPLY, 16);
    const packet = parsed(parseIcmp(shared, 16, ECHO_REPLY.length));
    if (packet.kind !== 'echoReply') throw new Error('narrowing');
    expect(packet.bytes).toBe(shared);
    expect(packet.data.buffer).toBe(shared.buffer);
    expect(packet.icmp().byteOffset).toBe(36);
    shared[16 + 20 + 4] = 0x99; // identifier high byte, after parsing
    expect(packet.identifier).toBe(0x9934);
  });
});

describe('parseIcmp: refusals (never a throw)', () => {
  const reply = () => Uint8Array.from(ECHO_REPLY);

  it('names each defect', () => {
    expect(reason(parseIcmp(new Uint8Array(0)))).toBe('truncated');
    expect(reason(parseIcmp(ECHO_REPLY.subarray(0, 19)))).toBe('truncated');
    expect(reason(parseIcmp(ECHO_REPLY.subarray(0, 40)))).toBe('truncated'); // total length says 60
    expect(reason(parseIcmp(ECHO_REPLY, 0, 100))).toBe('bad-range');
    expect(reason(parseIcmp(ECHO_REPLY, -1))).toBe('bad-range');
    expect(reason(parseIcmp(ECHO_REPLY, 0.5))).toBe('bad-range');

    const v6 = reply();
    v6[0] = 0x65;
    expect(reason(parseIcmp(reseal(v6)))).toBe('bad-ip-header');
    const shortIhl = reply();
    shortIhl[0] = 0x44;
    expect(reason(parseIcmp(shortIhl))).toBe('bad-ip-header');
    const longIhl = reply().subarray(0, 40);
    longIhl[0] = 0x4f; // 60-byte header in 40 bytes
    expect(reason(parseIcmp(longIhl))).toBe('truncated');
    const lyingLength = reply();
    lyingLength[2] = 0;
    lyingLength[3] = 10; // shorter than the header
    expect(reason(parseIcmp(reseal(lyingLength)))).toBe('bad-ip-header');

    const badHeaderSum = reply();
    badHeaderSum[8] = 63; // TTL changed, checksum not
    expect(reason(parseIcmp(badHeaderSum))).toBe('bad-ip-checksum');
    const udp = reply();
    udp[9] = 17;
    expect(reason(parseIcmp(reseal(udp)))).toBe('not-icmp');
    const fragment = reply();
    fragment[6] = 0x20; // MF
    expect(reason(parseIcmp(reseal(fragment)))).toBe('fragment');
    const badSum = reply();
    badSum[40] ^= 0xff; // a data byte
    expect(reason(parseIcmp(badSum))).toBe('bad-checksum');
    // A packet the coordinator already checked is only viewed again in its shard: no checksums then.
    expect(parseIcmp(badSum, 0, badSum.length, false).ok).toBe(true);
    expect(parseIcmp(badHeaderSum, 0, badHeaderSum.length, false).ok).toBe(true);
    const headerOnly = ipv4({ payload: Uint8Array.of(0, 0, 0xff, 0xff) }); // 4 ICMP bytes
    expect(reason(parseIcmp(headerOnly))).toBe('truncated');
  });

  it('refuses an error message whose quote is not a whole IPv4 header', () => {
    expect(reason(parseIcmp(ipv4({ payload: icmp(3, 3, 0, new Uint8Array(12)) })))).toBe('bad-quote');
    const notV4 = udpDatagram(1, '127.0.0.1', 2);
    notV4[0] = 0x55;
    expect(reason(parseIcmp(ipv4({ payload: icmp(11, 0, 0, notV4) })))).toBe('bad-quote');
    const longQuoteIhl = udpDatagram(1, '127.0.0.1', 2).subarray(0, 24);
    longQuoteIhl[0] = 0x47; // says 28 bytes of header, 24 quoted
    expect(reason(parseIcmp(ipv4({ payload: icmp(3, 1, 0, longQuoteIhl) })))).toBe('bad-quote');
  });

  it('gives no ports when the quote stops short of them or quotes a later fragment', () => {
    const short = udpDatagram(1_234, '127.0.0.1', 9).subarray(0, 22);
    expect(parsed(parseIcmp(ipv4({ payload: icmp(3, 3, 0, short) })))).toMatchObject({
      quotedSourcePort: -1,
    });
    const later = udpDatagram(1_234, '127.0.0.1', 9);
    later[7] = 0x10; // fragment offset 16 (x8 bytes)
    expect(parsed(parseIcmp(icmpError(3, 3, later)))).toMatchObject({
      quotedProtocol: 17,
      quotedSourcePort: -1,
    });
  });
});
