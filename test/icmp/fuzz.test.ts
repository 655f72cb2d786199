import { describe, expect, it } from 'vitest';
import { internetChecksum } from '../../src/icmp/checksum.js';
import { ICMP_DROP_REASONS, IcmpDemux, ROUTED_KINDS } from '../../src/icmp/demux.js';
import type { IcmpPacket } from '../../src/icmp/icmp-packet.js';
import { parseIcmp } from '../../src/icmp/parse.js';
import {
  ECHO_REPLY,
  ECHO_REQUEST,
  PORT_UNREACHABLE,
  PROTOCOL_UNREACHABLE,
  TIMESTAMP_REPLY,
} from '../fixtures/icmp/captured.js';
import { echo, icmp, icmpError, ipv4, sentEchoRequest, udpDatagram } from '../fixtures/icmp/packets.js';
import { below, prng } from '../helpers/prng.js';

const SEED = 0x5eed_1c39;
const CASES = 30_000;

const SEEDS: readonly Uint8Array[] = [
  ECHO_REPLY,
  ECHO_REQUEST,
  PORT_UNREACHABLE,
  PROTOCOL_UNREACHABLE,
  TIMESTAMP_REPLY,
  echo('reply', 40_000, 65_535, new Uint8Array(56)),
  echo('reply', 65_000, 1, new Uint8Array(16)), // beyond the shards' 60000 identifiers
  icmpError(11, 0, udpDatagram(33_000, '192.0.2.1', 33_434)),
  icmpError(3, 1, sentEchoRequest(20_000, 9, '192.0.2.2')),
  ipv4({
    options: Uint8Array.of(1, 1, 1, 0, 7, 7, 4, 0),
    payload: icmp(0, 0, 0x00010002, new Uint8Array(8)),
  }),
];

/** Re-seals whatever checksums the (lying) length fields still let us compute, so mutants get past them. */
function reseal(packet: Uint8Array): void {
  if (packet.length < 20) return;
  const header = (packet[0]! & 0x0f) * 4;
  if (header < 20 || header > packet.length) return;
  packet[10] = 0;
  packet[11] = 0;
  const ipSum = internetChecksum(packet, 0, header);
  packet[10] = ipSum >>> 8;
  packet[11] = ipSum & 0xff;
  const total = Math.min(packet.length, (packet[2]! << 8) | packet[3]!);
  if (total < header + 4) return;
  packet[header + 2] = 0;
  packet[header + 3] = 0;
  const sum = internetChecksum(packet, header, total - header);
  packet[header + 2] = sum >>> 8;
  packet[header + 3] = sum & 0xff;
}

function mutant(random: () => number): Uint8Array {
  const pick = below(random, 10);
  if (pick === 0) return Uint8Array.from({ length: below(random, 120) }, () => below(random, 256));
  const seed = SEEDS[below(random, SEEDS.length)]!;
  let packet = Uint8Array.from(seed);
  const edits = 1 + below(random, 4);
  for (let e = 0; e < edits; e++) {
    switch (below(random, 7)) {
      case 0: // bit flips anywhere
        packet[below(random, packet.length)]! ^= 1 << below(random, 8);
        break;
      case 1: // truncation
        packet = packet.subarray(0, below(random, packet.length + 1));
        break;
      case 2: // IHL lie
        if (packet.length > 0) packet[0] = (packet[0]! & 0xf0) | below(random, 16);
        break;
      case 3: // total length lie
        if (packet.length > 3) {
          const length =
            below(random, 3) === 0 ? below(random, 65_536) : packet.length + below(random, 9) - 4;
          packet[2] = (length >>> 8) & 0xff;
          packet[3] = length & 0xff;
        }
        break;
      case 4: {
        // lies inside the quoted header: its IHL, total length, protocol, fragment offset
        const quote = ((packet[0]! & 0x0f) * 4 || 20) + 8;
        const at = quote + [0, 2, 3, 9, 6, 7][below(random, 6)]!;
        if (at < packet.length) packet[at] = below(random, 256);
        break;
      }
      case 5: {
        // garbage appended, or the whole thing inside a bigger buffer
        const grown = new Uint8Array(packet.length + below(random, 40));
        grown.set(packet);
        for (let i = packet.length; i < grown.length; i++) grown[i] = below(random, 256);
        packet = grown;
        break;
      }
      default: // ICMP type / code changed
        if (packet.length > 21) packet[20 + below(random, 2)] = below(random, 256);
    }
  }
  if (below(random, 2) === 0) reseal(packet);
  return packet;
}

/** Reads every getter; all must be numbers in range or strings, never throw. */
function touch(packet: IcmpPacket): void {
  const u16 = (value: number) => Number.isInteger(value) && value >= -1 && value <= 0xffff;
  const common = [packet.type, packet.code, packet.checksum, packet.ttl, packet.length, packet.icmpLength];
  if (!common.every(u16)) throw new Error(`bad common field ${common.join(',')}`);
  if (!/^\d+\.\d+\.\d+\.\d+$/.test(packet.source) || !/^\d+\.\d+\.\d+\.\d+$/.test(packet.destination)) {
    throw new Error('bad address');
  }
  if (packet.icmp().length !== packet.icmpLength) throw new Error('icmp view length');
  if (packet.kind === 'echoReply' || packet.kind === 'echoRequest') {
    if (![packet.identifier, packet.sequence, packet.dataLength].every(u16))
      throw new Error('bad echo field');
    if (packet.data.length !== packet.dataLength) throw new Error('data view length');
  } else if (packet.kind === 'unreachable' || packet.kind === 'timeExceeded') {
    const fields = [
      packet.quotedProtocol,
      packet.quotedSourcePort,
      packet.quotedDestinationPort,
      packet.quotedEchoIdentifier,
      packet.quotedEchoSequence,
      packet.nextHopMtu,
      packet.quotedPayloadLength,
    ];
    if (!fields.every(u16)) throw new Error(`bad error field ${fields.join(',')}`);
    void packet.quotedSource;
    void packet.quotedDestination;
  }
}

describe('fuzz: parse + demux over random and mutated packets', () => {
  it(`decides every one of ${CASES} inputs (seed ${SEED.toString(16)}), never throws, and the counters add up`, () => {
    const random = prng(SEED);
    const demux = new IcmpDemux({
      shards: 3,
      identifierSpan: 20_000,
      // A hostile owner: throws for some ports, answers garbage for others.
      udpPortOwner: (port) => {
        if (port % 11 === 0) throw new Error('owner bug');
        if (port % 13 === 0) return 7;
        return port % 5 === 0 ? -1 : port % 3;
      },
      tcpPortOwner: (port) => port % 3,
    });
    const problems: string[] = [];
    const reasons = new Set<string>();
    for (let i = 0; i < CASES; i++) {
      const input = mutant(random);
      let offset = 0;
      let length = input.length;
      if (below(random, 20) === 0) {
        // offsets and lengths that lie about the array too
        offset = below(random, input.length + 3) - 1;
        length = below(random, input.length + 3) - 1;
      }
      try {
        const route = demux.dispatch(input, offset, length);
        if (route.ok) {
          if (!Number.isInteger(route.shard) || route.shard < 0 || route.shard > 2)
            problems.push(`${i}: shard ${route.shard}`);
          touch(route.packet);
          reasons.add(route.packet.kind);
        } else reasons.add(route.reason);
        const parsed = parseIcmp(input, offset, length);
        if (parsed.ok) touch(parsed.packet);
      } catch (error) {
        problems.push(`case ${i}: ${error instanceof Error ? error.message : String(error)}`);
        if (problems.length > 10) break;
      }
    }
    expect(problems).toEqual([]);

    const { received, routed, dropped, routedToShard } = demux.counters;
    const routedTotal = ROUTED_KINDS.reduce((sum, kind) => sum + routed[kind], 0);
    const droppedTotal = ICMP_DROP_REASONS.reduce((sum, reason) => sum + dropped[reason], 0);
    expect(received).toBe(CASES);
    expect(routedTotal + droppedTotal).toBe(received);
    expect(routedToShard.reduce((a, b) => a + b, 0)).toBe(routedTotal);
    // The fuzzer reached deep: every kind routed and most reasons seen, not just "truncated".
    for (const kind of ROUTED_KINDS) expect(routed[kind], kind).toBeGreaterThan(0);
    for (const reason of [
      'truncated',
      'bad-ip-header',
      'bad-ip-checksum',
      'bad-checksum',
      'not-icmp',
      'fragment',
      'bad-quote',
      'bad-range',
      'own-request',
      'unowned-identifier',
      'unowned-port',
      'unroutable-quote',
      'other-kind',
      'route-error',
    ] as const) {
      expect(dropped[reason], reason).toBeGreaterThan(0);
    }
    expect(dropped['internal-error']).toBe(0);
  });
});
