import { describe, expect, it } from 'vitest';
import { IcmpDemux } from '../../src/icmp/demux.js';
import { parseIpv4 } from '../../src/ip-address.js';
import { ECHO_REPLY, ECHO_REQUEST } from '../fixtures/icmp/captured.js';
import { echo } from '../fixtures/icmp/packets.js';

const noUdp = () => -1;

describe('own echo requests on loopback', () => {
  it('drops the request we sent (looped back) and routes its reply, both captured from the kernel', () => {
    // 0x1234 = 4660 lies in shard 0's range with 2 shards of 32768.
    const demux = new IcmpDemux({ shards: 2, identifierSpan: 32_768, udpPortOwner: noUdp });
    expect(demux.dispatch(ECHO_REQUEST)).toEqual({ ok: false, reason: 'own-request' });
    expect(demux.dispatch(ECHO_REPLY)).toMatchObject({ ok: true, shard: 0, packet: { kind: 'echoReply' } });
    expect(demux.counters.dropped['own-request']).toBe(1);
    expect(demux.counters.routed.echoReply).toBe(1);
  });

  it('treats any 127/8 source as local by default, and this host’s other addresses when told', () => {
    const demux = new IcmpDemux({ shards: 1, identifierSpan: 1_000, udpPortOwner: noUdp });
    expect(demux.dispatch(echo('request', 5, 1, undefined, '127.0.0.53'))).toMatchObject({
      reason: 'own-request',
    });
    // Pinging our own LAN address loops back with that address as source.
    const lan = parseIpv4('10.20.30.40');
    const withLan = new IcmpDemux({
      shards: 1,
      identifierSpan: 1_000,
      udpPortOwner: noUdp,
      isLocalAddress: (address) => address === lan || address >>> 24 === 127,
    });
    expect(withLan.dispatch(echo('request', 5, 1, undefined, '10.20.30.40'))).toMatchObject({
      reason: 'own-request',
    });
  });

  it('routes a remote host’s request by identifier (it is not ours), and drops unowned identifiers', () => {
    const demux = new IcmpDemux({
      shards: 2,
      identifierSpan: 100,
      identifierBase: 1_000,
      udpPortOwner: noUdp,
    });
    expect(demux.dispatch(echo('request', 1_150, 1, undefined, '192.0.2.7'))).toMatchObject({
      ok: true,
      shard: 1,
      packet: { kind: 'echoRequest', source: '192.0.2.7' },
    });
    // Outside [1000, 1200): someone else's ping (another process on this host), not ours to own.
    expect(demux.dispatch(echo('request', 999, 1))).toMatchObject({ reason: 'unowned-identifier' });
    expect(demux.dispatch(echo('reply', 1_200, 1))).toMatchObject({ reason: 'unowned-identifier' });
  });

  it('can drop other hosts’ requests at the coordinator instead (the kernel answers them anyway)', () => {
    const demux = new IcmpDemux({
      shards: 1,
      identifierSpan: 1_000,
      udpPortOwner: noUdp,
      dropForeignRequests: true,
    });
    expect(demux.dispatch(echo('request', 5, 1, undefined, '192.0.2.7'))).toMatchObject({
      reason: 'foreign-request',
    });
    expect(demux.dispatch(echo('request', 5, 1))).toMatchObject({ reason: 'own-request' });
    expect(demux.dispatch(echo('reply', 5, 1, undefined, '192.0.2.7'))).toMatchObject({ ok: true, shard: 0 });
  });

  it('counts a throwing locality predicate as local: our own requests are never routed by mistake', () => {
    const demux = new IcmpDemux({
      shards: 1,
      identifierSpan: 10,
      udpPortOwner: noUdp,
      isLocalAddress: () => {
        throw new Error('boom');
      },
    });
    expect(demux.dispatch(echo('request', 3, 1))).toMatchObject({ reason: 'own-request' });
  });
});
