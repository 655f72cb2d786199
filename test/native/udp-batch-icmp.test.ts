import { constants } from 'node:os';
import { describe, expect, it } from 'vitest';
import {
  close,
  DGRAM_ADDRESS,
  DGRAM_FAMILY,
  DGRAM_LENGTH,
  DGRAM_OFFSET,
  DGRAM_PORT,
  DGRAM_WORDS,
  FAMILY_IPV4,
  sendUdpBatch,
  startUdpBatch,
  stopUdpBatch,
  UDP_META_HEADER_WORDS,
  UDP_META_RECV_ICMP_ERRORS,
  UDP_META_RECV_ICMP_LAST_ERRNO,
  UDP_META_SEND_ICMP_ERRORS,
  UDP_META_SEND_SENT,
  udpBatchSizes,
  udpSocket,
} from '../../src/native/binding.js';
import { afterPollPhase } from '../helpers/loop.js';
import { useTeardown } from '../helpers/sockets.js';
import { closedPort, connectFd, payload, refusedBy, seqOf, UdpClient } from '../helpers/udp.js';

const defer = useTeardown();
const { ECONNREFUSED } = constants.errno;
const LOCALHOST = 0x7f00_0001;

function oneDatagram(port: number, seq: number): { slab: Uint8Array; meta: Int32Array } {
  const slab = payload(seq, 16);
  const meta = new Int32Array(UDP_META_HEADER_WORDS + DGRAM_WORDS);
  const record = UDP_META_HEADER_WORDS;
  meta[record + DGRAM_OFFSET] = 0;
  meta[record + DGRAM_LENGTH] = slab.length;
  meta[record + DGRAM_FAMILY] = FAMILY_IPV4;
  meta[record + DGRAM_PORT] = port;
  meta[record + DGRAM_ADDRESS] = LOCALHOST;
  return { slab, meta };
}

/*
 * Linux keeps an ICMP error (port unreachable: ECONNREFUSED) as the socket's pending error only for
 * connected UDP sockets (or with IP_RECVERR). The poll then reports POLLERR, which libuv turns into
 * UV_EBADF with the poll stopped, and the next send or recv fails with the error once.
 */
describe('a UDP batch socket whose peer went away (ICMP port unreachable)', () => {
  it('counts the refusal on receive and on send, never pauses, and keeps receiving', async () => {
    const { fd, port } = udpSocket({ host: '127.0.0.1', port: 0 });
    defer(() => close(fd));
    const peerPort = await closedPort();
    await connectFd(fd, peerPort);

    const { slabBytes, metaLength } = udpBatchSizes(64, 4);
    const slab = new Uint8Array(new SharedArrayBuffer(slabBytes));
    const meta = new Int32Array(new SharedArrayBuffer(metaLength * Int32Array.BYTES_PER_ELEMENT));
    const counts: number[] = [];
    const received: number[] = [];
    const handle = startUdpBatch(fd, slab, meta, 64, 4, (count) => {
      counts.push(count);
      for (let i = 0; i < count; i++) {
        const offset = meta[UDP_META_HEADER_WORDS + i * DGRAM_WORDS + DGRAM_OFFSET]!;
        received.push(seqOf(slab.subarray(offset)));
      }
    });
    defer(() => stopUdpBatch(handle));

    // Receive side: the refusal arrives as POLLERR; the poll takes it, counts it and polls on.
    const first = oneDatagram(peerPort, 1);
    expect(sendUdpBatch(fd, first.slab, first.meta, 1)).toBe(1);
    await expect.poll(() => meta[UDP_META_RECV_ICMP_ERRORS]).toBe(1);
    expect(meta[UDP_META_RECV_ICMP_LAST_ERRNO]).toBe(ECONNREFUSED);

    // Send side: the refusal of datagram 2 is still pending when datagram 3 goes, which fails with it
    // unsent; the addon counts it and sends datagram 3 again.
    const second = oneDatagram(peerPort, 2);
    const third = oneDatagram(peerPort, 3);
    expect(sendUdpBatch(fd, second.slab, second.meta, 1)).toBe(1);
    expect(sendUdpBatch(fd, third.slab, third.meta, 1)).toBe(1);
    expect(third.meta[UDP_META_SEND_SENT]).toBe(1);
    expect(third.meta[UDP_META_SEND_ICMP_ERRORS]).toBe(1);
    // Datagram 3's own refusal reaches the poll.
    await expect.poll(() => meta[UDP_META_RECV_ICMP_ERRORS]).toBe(2);

    // The peer comes back on its port (a connected socket hears only from it): data flows again.
    const peer = await UdpClient.open('127.0.0.1', peerPort);
    defer(() => peer.close());
    for (let seq = 10; seq < 13; seq++) await peer.send(payload(seq, 16), port, '127.0.0.1');
    await expect.poll(() => received, { timeout: 5_000 }).toEqual([10, 11, 12]);
    expect(counts.every((count) => count > 0)).toBe(true);
  });

  it('on an unconnected socket, draws no error at all: replies to a closed port just vanish', async () => {
    const { fd, port } = udpSocket({ host: '127.0.0.1', port: 0 });
    defer(() => close(fd));
    const { slabBytes, metaLength } = udpBatchSizes(64, 4);
    const slab = new Uint8Array(new SharedArrayBuffer(slabBytes));
    const meta = new Int32Array(new SharedArrayBuffer(metaLength * Int32Array.BYTES_PER_ELEMENT));
    const counts: number[] = [];
    const handle = startUdpBatch(fd, slab, meta, 64, 4, (count) => counts.push(count));
    defer(() => stopUdpBatch(handle));
    const gone = await closedPort();
    for (let seq = 0; seq < 5; seq++) {
      const datagram = oneDatagram(gone, seq);
      expect(sendUdpBatch(fd, datagram.slab, datagram.meta, 1)).toBe(1);
      expect(datagram.meta[UDP_META_SEND_ICMP_ERRORS]).toBe(0);
    }
    // The kernel has answered those 5 by the time it refuses our witness, and the poll has looked since.
    await refusedBy(gone);
    await afterPollPhase();
    expect(meta[UDP_META_RECV_ICMP_ERRORS]).toBe(0);
    const client = await UdpClient.open();
    defer(() => client.close());
    await client.send(payload(7, 16), port, '127.0.0.1');
    await expect.poll(() => counts, { timeout: 5_000 }).toEqual([1]);
  });
});
