import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { IcmpSocket, localIpv4Addresses } from '../../src/engine/icmp-socket.js';
import { IcmpSocketClosedError, InvalidOptionError } from '../../src/errors.js';
import { IcmpDemux } from '../../src/icmp/demux.js';
import { echoRequestLength, readEchoTimestamp, writeEchoRequest } from '../../src/icmp/echo-request.js';
import { parseIcmp } from '../../src/icmp/parse.js';
import { isLoopbackIpv4 } from '../../src/ip-address.js';
import { requirement, testWith } from '../helpers/requirements.js';

const withIcmp = testWith(await requirement('raw-icmp'));
const WAIT_MS = 2_000;

const sockets: IcmpSocket[] = [];
afterEach(() => {
  for (const socket of sockets.splice(0)) socket.close();
});

function open(family: 4 | 6 = 4): IcmpSocket {
  const socket = IcmpSocket.open({ family });
  sockets.push(socket);
  return socket;
}

/** Resolves with the first packet `accept` returns something for, or rejects after WAIT_MS. */
function nextPacket<T>(
  socket: IcmpSocket,
  accept: (packet: Buffer, source: string) => T | undefined,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no matching packet within ${WAIT_MS} ms`)), WAIT_MS);
    socket.onPacket((packet, source) => {
      const value = accept(packet, source);
      if (value === undefined) return;
      clearTimeout(timer);
      socket.onPacket(undefined);
      resolve(value);
    });
  });
}

describe('IcmpSocket (raw-socket in the coordinator)', () => {
  withIcmp(`echoes 127.0.0.1 from a ring-like shared buffer, and sees its own request`, async () => {
    const socket = open();
    const identifier = 0xc000 + (process.pid & 0x0fff);
    const demux = new IcmpDemux({ shards: 4, identifierSpan: 16_384, udpPortOwner: () => -1 });
    const ownRequests: string[] = [];
    const reply = nextPacket(socket, (packet) => {
      // The handler's Buffer is the socket's one receive buffer: route it now, keep nothing. Other tests may
      // ping at the same time (a raw socket sees every ICMP packet), so only our identifier counts.
      const route = demux.dispatch(packet);
      const parsed = parseIcmp(packet);
      if (!parsed.ok || !('identifier' in parsed.packet) || parsed.packet.identifier !== identifier)
        return undefined;
      if (parsed.packet.kind === 'echoRequest') ownRequests.push(route.ok ? 'routed' : route.reason);
      if (route.ok && route.packet.kind === 'echoReply') {
        return {
          shard: route.shard,
          sequence: route.packet.sequence,
          stamp: readEchoTimestamp(route.packet.data),
        };
      }
      return undefined;
    });
    const ring = new Uint8Array(new SharedArrayBuffer(1_024));
    const length = writeEchoRequest(ring, 136, { identifier, sequence: 42, timestamp: 1234.5 });
    expect(socket.sendNow(ring, 136, length, '127.0.0.1')).toBe(length);
    ring.fill(0, 136, 136 + length); // sendNow returned: the kernel has its copy, the record may be reused
    expect(await reply).toEqual({ shard: 3, sequence: 42, stamp: 1234.5 });
    expect(ownRequests).toEqual(['own-request']); // looped back before the reply
    expect(socket.counters).toMatchObject({ sent: 1, sendErrors: 0 });
    expect(socket.counters.received).toBeGreaterThanOrEqual(2);
  });

  withIcmp(`sends through the promise API too`, async () => {
    const socket = open();
    const identifier = 0xd000 + (process.pid & 0x0fff);
    const reply = nextPacket(socket, (packet) => {
      const parsed = parseIcmp(packet);
      return parsed.ok && parsed.packet.kind === 'echoReply' && parsed.packet.identifier === identifier
        ? parsed.packet.sequence
        : undefined;
    });
    const message = new Uint8Array(echoRequestLength(8));
    writeEchoRequest(message, 0, { identifier, sequence: 7, size: 8 });
    await expect(socket.send(message, 0, message.length, '127.0.0.1')).resolves.toBe(16);
    expect(await reply).toBe(7);
  });

  withIcmp(`notices a packet cut short by a small receive buffer (recvfrom truncates silently)`, async () => {
    const socket = IcmpSocket.open({ packetBufferSize: 40 });
    sockets.push(socket);
    const identifier = 0xb000 + (process.pid & 0x0fff);
    const cut = nextPacket(socket, (packet) => {
      // The identifier sits at bytes 24-25, inside the 40 that arrive.
      if (packet.length !== 40 || packet.readUInt16BE(24) !== identifier) return undefined;
      const parsed = parseIcmp(packet);
      return parsed.ok ? 'parsed' : parsed.reason;
    });
    const message = new Uint8Array(echoRequestLength(56));
    writeEchoRequest(message, 0, { identifier, sequence: 1 });
    socket.sendNow(message, 0, message.length, '127.0.0.1');
    expect(await cut).toBe('truncated'); // 84 bytes on the wire, 40 delivered, total length says 84
  });

  withIcmp(`refuses bad ranges, wrong-family addresses and use after close`, async () => {
    const socket = open();
    const bytes = new Uint8Array(16);
    expect(() => socket.sendNow(bytes, 8, 16, '127.0.0.1')).toThrow(InvalidOptionError);
    expect(() => socket.sendNow(bytes, -1, 4, '127.0.0.1')).toThrow(InvalidOptionError);
    expect(() => socket.sendNow(bytes, 0, 16, 'localhost')).toThrow(/IPv4 address/);
    expect(() => socket.sendNow(bytes, 0, 16, '::1')).toThrow(InvalidOptionError);
    await expect(socket.send(bytes, 0, 17, '127.0.0.1')).rejects.toThrow(InvalidOptionError);
    socket.close();
    socket.close();
    expect(socket.closed).toBe(true);
    // raw-socket itself would silently open a new raw socket here.
    expect(() => socket.sendNow(bytes, 0, 16, '127.0.0.1')).toThrow(IcmpSocketClosedError);
    await expect(socket.send(bytes, 0, 16, '127.0.0.1')).rejects.toThrow(IcmpSocketClosedError);
  });

  withIcmp(`sets SO_RCVBUF (the kernel doubles it, capped at rmem_max)`, () => {
    const socket = open();
    const rmemMax = Number(readFileSync('/proc/sys/net/core/rmem_max', 'utf8'));
    const asked = 256 * 1024;
    expect(socket.setReceiveBufferSize(asked)).toBe(2 * Math.min(asked, rmemMax));
    expect(socket.receiveBufferSize()).toBe(2 * Math.min(asked, rmemMax));
    expect(() => socket.setReceiveBufferSize(0)).toThrow(InvalidOptionError);
  });

  withIcmp(`keeps serving when a packet handler throws, and reports it`, async () => {
    const socket = open();
    const errors: Error[] = [];
    socket.onError((error) => errors.push(error));
    socket.onPacket(() => {
      throw new Error('handler bug');
    });
    const message = new Uint8Array(echoRequestLength(0));
    writeEchoRequest(message, 0, { identifier: 0xe000 + (process.pid & 0x0fff), sequence: 1, size: 0 });
    socket.sendNow(message, 0, message.length, '127.0.0.1');
    await expect.poll(() => errors.length, { timeout: WAIT_MS }).toBeGreaterThanOrEqual(2);
    expect(errors[0]!.message).toBe('handler bug');
    expect(socket.closed).toBe(false);
    expect(socket.counters.errors).toBe(errors.length);
  });

  withIcmp(`speaks ICMPv6 on ::1: the kernel fills in the checksum, no IPv6 header arrives`, async () => {
    const socket = open(6);
    const identifier = 0xf000 + (process.pid & 0x0fff);
    const reply = nextPacket(socket, (packet, source) =>
      packet[0] === 129 && packet.readUInt16BE(4) === identifier
        ? {
            source,
            length: packet.length,
            sequence: packet.readUInt16BE(6),
            checksum: packet.readUInt16BE(2),
          }
        : undefined,
    );
    const request = Buffer.from([128, 0, 0, 0, identifier >>> 8, identifier & 0xff, 0, 9, 1, 2, 3, 4]);
    expect(socket.sendNow(request, 0, request.length, '::1')).toBe(12);
    const got = await reply;
    expect(got).toMatchObject({ source: '::1', length: 12, sequence: 9 });
    expect(got.checksum).not.toBe(0);
    expect(() => socket.sendNow(request, 0, 12, '127.0.0.1')).toThrow(/IPv6 address/);
  });

  it('lists this host’s IPv4 addresses, loopback included', () => {
    const local = localIpv4Addresses();
    expect([...local].some(isLoopbackIpv4)).toBe(true);
  });
});
