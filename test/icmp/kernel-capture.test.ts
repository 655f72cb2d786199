import dgram from 'node:dgram';
import { afterEach, describe, expect } from 'vitest';
import { IcmpSocket } from '../../src/engine/icmp-socket.js';
import { internetChecksum } from '../../src/icmp/checksum.js';
import { IcmpDemux } from '../../src/icmp/demux.js';
import { parseIcmp } from '../../src/icmp/parse.js';
import { requirement, testWith } from '../helpers/requirements.js';

const withIcmp = testWith(await requirement('raw-icmp'));
const WAIT_MS = 2_000;

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function udpSocket(): Promise<dgram.Socket> {
  const socket = dgram.createSocket('udp4');
  cleanups.push(() => new Promise((resolve) => socket.close(() => resolve(undefined))));
  socket.on('error', () => undefined); // the ICMP error also reaches the UDP socket as ECONNREFUSED on some paths
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return socket;
}

/** A UDP port on 127.0.0.1 that was just closed. */
async function closedPort(): Promise<number> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const port = socket.address().port;
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

describe('ICMP captured live from the kernel, parsed and routed', () => {
  withIcmp(
    `routes a port unreachable to the shard that owns the UDP port that sent the datagram`,
    async () => {
      const icmp = IcmpSocket.open();
      cleanups.push(() => icmp.close());
      const sender = await udpSocket();
      const ourPort = sender.address().port;
      const peerPort = await closedPort();
      const demux = new IcmpDemux({
        shards: 3,
        identifierSpan: 1_000,
        udpPortOwner: (port) => (port === ourPort ? 2 : -1),
      });
      const routed = new Promise<{ shard: number; bytes: Uint8Array }>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no port unreachable')), WAIT_MS);
        icmp.onPacket((packet) => {
          const route = demux.dispatch(packet);
          if (route.ok && route.packet.kind === 'unreachable') {
            clearTimeout(timer);
            resolve({ shard: route.shard, bytes: Uint8Array.from(packet) }); // copied: the buffer is reused
          }
        });
      });
      sender.send('sockshard', peerPort, '127.0.0.1');
      const { shard, bytes } = await routed;
      expect(shard).toBe(2);
      const parsed = parseIcmp(bytes);
      if (!parsed.ok || parsed.packet.kind !== 'unreachable') throw new Error('not an unreachable');
      expect(parsed.packet).toMatchObject({
        code: 3,
        source: '127.0.0.1',
        quotedProtocol: 17,
        quotedSourcePort: ourPort,
        quotedDestinationPort: peerPort,
      });
      expect(internetChecksum(bytes, 20)).toBe(0);
      expect(demux.counters.routed.unreachable).toBe(1);
    },
  );

  withIcmp(`reads the kernel’s timestamp reply as "other" and drops it`, async () => {
    const icmp = IcmpSocket.open();
    cleanups.push(() => icmp.close());
    const demux = new IcmpDemux({ shards: 1, identifierSpan: 65_536, udpPortOwner: () => -1 });
    const other = new Promise<Uint8Array>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no timestamp reply')), WAIT_MS);
      icmp.onPacket((packet) => {
        const parsed = parseIcmp(packet);
        if (parsed.ok && parsed.packet.kind === 'other' && parsed.packet.type === 14) {
          clearTimeout(timer);
          resolve(Uint8Array.from(packet));
        }
      });
    });
    const request = new Uint8Array(20);
    request[0] = 13; // timestamp request; Linux answers it
    request[5] = 1;
    const sum = internetChecksum(request);
    request[2] = sum >>> 8;
    request[3] = sum & 0xff;
    icmp.sendNow(request, 0, request.length, '127.0.0.1');
    const reply = await other;
    expect(reply[20]).toBe(14);
    expect(demux.dispatch(reply)).toEqual({ ok: false, reason: 'other-kind' });
  });
});
