import { describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../../src/errors.js';
import {
  defaultIdentifierSpan,
  ICMP_DROP_REASONS,
  IcmpDemux,
  type IcmpDemuxCounters,
  ROUTED_KINDS,
  shardIdentifierRange,
} from '../../src/icmp/demux.js';
import {
  PORT_UNREACHABLE,
  PORT_UNREACHABLE_SOURCE_PORT,
  PROTOCOL_UNREACHABLE,
  TIMESTAMP_REPLY,
} from '../fixtures/icmp/captured.js';
import { echo, icmpError, ipv4, sentEchoRequest, udp, udpDatagram } from '../fixtures/icmp/packets.js';

const SHARDS = 4;
const SPAN = defaultIdentifierSpan(SHARDS);
/** The engine's default UDP rule: port P belongs to shard P mod N. */
const udpPortOwner = (port: number) => port % SHARDS;

function total(counters: IcmpDemuxCounters): { routed: number; dropped: number; perShard: number } {
  const sum = (values: Iterable<number>) => [...values].reduce((a, b) => a + b, 0);
  return {
    routed: sum(ROUTED_KINDS.map((kind) => counters.routed[kind])),
    dropped: sum(ICMP_DROP_REASONS.map((reason) => counters.dropped[reason])),
    perShard: sum(counters.routedToShard),
  };
}

describe('IcmpDemux routing', () => {
  it('routes echo replies by identifier range: shard s owns [s*span, (s+1)*span)', () => {
    expect(SPAN).toBe(16_384);
    expect(shardIdentifierRange(2, SPAN)).toEqual({ start: 32_768, end: 49_152 });
    const demux = new IcmpDemux({ shards: SHARDS, identifierSpan: SPAN, udpPortOwner });
    for (const [identifier, shard] of [
      [0, 0],
      [16_383, 0],
      [16_384, 1],
      [49_151, 2],
      [49_152, 3],
      [65_535, 3],
    ] as const) {
      expect(demux.dispatch(echo('reply', identifier, 1)), `identifier ${identifier}`).toMatchObject({
        ok: true,
        shard,
      });
      expect(demux.identifierOwner(identifier)).toBe(shard);
    }
    expect(demux.counters.routedToShard).toEqual([2, 1, 1, 2]);
  });

  it('routes a kernel-captured port unreachable to the shard that owns the quoted UDP source port', () => {
    const demux = new IcmpDemux({ shards: SHARDS, identifierSpan: SPAN, udpPortOwner });
    const route = demux.dispatch(PORT_UNREACHABLE);
    expect(route).toMatchObject({ ok: true, shard: PORT_UNREACHABLE_SOURCE_PORT % SHARDS });
    expect(demux.counters.routed.unreachable).toBe(1);
  });

  it('routes time exceeded by quoted UDP port, TCP by its own owner, and errors about our echoes by identifier', () => {
    const demux = new IcmpDemux({
      shards: SHARDS,
      identifierSpan: SPAN,
      udpPortOwner,
      tcpPortOwner: (port) => (port === 8_080 ? 2 : -1),
    });
    expect(demux.dispatch(icmpError(11, 0, udpDatagram(7_001, '192.0.2.1', 33_434)))).toMatchObject({
      shard: 1,
      packet: { kind: 'timeExceeded' },
    });
    const tcp = (port: number) => ipv4({ protocol: 6, payload: udp(port, 443, new Uint8Array(12)) });
    expect(demux.dispatch(icmpError(3, 1, tcp(8_080)))).toMatchObject({ ok: true, shard: 2 });
    expect(demux.dispatch(icmpError(3, 1, tcp(8_081)))).toMatchObject({ reason: 'unowned-port' });
    expect(demux.dispatch(icmpError(3, 1, sentEchoRequest(40_000, 12, '192.0.2.99')))).toMatchObject({
      ok: true,
      shard: 2,
    });
    expect(demux.dispatch(icmpError(11, 0, sentEchoRequest(40_000, 13, '192.0.2.99')))).toMatchObject({
      shard: 2,
    });
  });

  it('drops what no shard owns, with the reason', () => {
    const demux = new IcmpDemux({
      shards: 2,
      identifierSpan: 10,
      udpPortOwner: (port) => (port === 53 ? 0 : -1),
    });
    expect(demux.dispatch(echo('reply', 20, 1))).toMatchObject({ reason: 'unowned-identifier' });
    expect(demux.dispatch(icmpError(3, 3, udpDatagram(54, '127.0.0.1', 9)))).toMatchObject({
      reason: 'unowned-port',
    });
    expect(
      demux.dispatch(icmpError(3, 3, ipv4({ protocol: 6, payload: udp(80, 1, new Uint8Array(12)) }))),
    ).toMatchObject({
      reason: 'unowned-port', // no TCP owner configured
    });
    expect(demux.dispatch(PROTOCOL_UNREACHABLE)).toMatchObject({ reason: 'unroutable-quote' });
    expect(demux.dispatch(icmpError(3, 1, sentEchoRequest(30, 1, '192.0.2.1')))).toMatchObject({
      reason: 'unowned-identifier',
    });
    expect(demux.dispatch(TIMESTAMP_REPLY)).toMatchObject({ reason: 'other-kind' });
    expect(demux.dispatch(new Uint8Array(3))).toMatchObject({ reason: 'truncated' });
  });

  it('never lets a port owner callback break routing: throws and non-shards become route-error', () => {
    let answer: () => number = () => 0;
    const demux = new IcmpDemux({ shards: 2, identifierSpan: 10, udpPortOwner: () => answer() });
    const packet = icmpError(3, 3, udpDatagram(1_000, '127.0.0.1', 9));
    for (const bad of [
      () => {
        throw new Error('owner bug');
      },
      () => 2,
      () => -2,
      () => 0.5,
      () => Number.NaN,
    ]) {
      answer = bad;
      expect(demux.dispatch(packet)).toMatchObject({ ok: false, reason: 'route-error' });
    }
    answer = () => 1;
    expect(demux.dispatch(packet)).toMatchObject({ ok: true, shard: 1 });
    expect(demux.counters.dropped['route-error']).toBe(5);
  });

  it('keeps received = routed + dropped, and routed per kind = routed per shard', () => {
    const demux = new IcmpDemux({ shards: SHARDS, identifierSpan: SPAN, udpPortOwner });
    const inputs = [
      PORT_UNREACHABLE,
      PROTOCOL_UNREACHABLE,
      TIMESTAMP_REPLY,
      echo('reply', 1, 1),
      echo('request', 2, 2),
    ];
    for (const input of inputs) demux.dispatch(input);
    const { routed, dropped, perShard } = total(demux.counters);
    expect(demux.counters.received).toBe(inputs.length);
    expect(routed + dropped).toBe(inputs.length);
    expect(perShard).toBe(routed);
  });

  it('refuses a routing table that does not fit in 16-bit identifiers', () => {
    expect(() => new IcmpDemux({ shards: 0, identifierSpan: 1, udpPortOwner })).toThrow(InvalidOptionError);
    expect(() => new IcmpDemux({ shards: 2, identifierSpan: 0, udpPortOwner })).toThrow(InvalidOptionError);
    expect(() => new IcmpDemux({ shards: 2, identifierSpan: 32_769, udpPortOwner })).toThrow(
      InvalidOptionError,
    );
    expect(
      () => new IcmpDemux({ shards: 2, identifierSpan: 100, identifierBase: 65_400, udpPortOwner }),
    ).toThrow(/do not fit in 16 bits/);
  });
});
