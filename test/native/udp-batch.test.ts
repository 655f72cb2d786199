import { describe, expect, it } from 'vitest';
import {
  close,
  DGRAM_ADDRESS,
  DGRAM_ADDRESS_WORDS,
  DGRAM_FAMILY,
  DGRAM_FLAGS,
  DGRAM_PORT,
  DGRAM_WORDS,
  sendUdpBatch,
  startUdpBatch,
  stopUdpBatch,
  UDP_META_HEADER_WORDS,
  UDP_META_SEND_SENT,
  udpBatchSizes,
  udpSocket,
} from '../../src/native/binding.js';
import { useTeardown } from '../helpers/sockets.js';
import { echoRoundTrips, payload, UdpClient } from '../helpers/udp.js';

const defer = useTeardown();

interface EchoServer {
  readonly port: number;
  /** The count of every callback, in order. */
  readonly batches: number[];
  /** Family, port and address words of every datagram received. */
  readonly peers: number[][];
  /** What sendUdpBatch returned and the header's SENT, per batch; both should equal the count. */
  readonly sends: number[][];
  start(onBatch?: (count: number) => void): void;
}

/**
 * A UDP echo server on the batch path, zero-copy both ways: the send records point at the datagrams in the
 * receive slab, so sendmmsg sends straight from where recvmmsg wrote.
 */
function echoServer(host: string, batch: number, maxDatagram = 2048): EchoServer {
  const { fd, port } = udpSocket({ host, port: 0, recvBufferSize: 1 << 20 });
  defer(() => close(fd));
  const { slabBytes, metaLength } = udpBatchSizes(maxDatagram, batch);
  const slab = new Uint8Array(new SharedArrayBuffer(slabBytes));
  const meta = new Int32Array(new SharedArrayBuffer(metaLength * Int32Array.BYTES_PER_ELEMENT));
  const out = new Int32Array(metaLength);
  const server: EchoServer = {
    port,
    batches: [],
    peers: [],
    sends: [],
    start(onBatch) {
      const handle = startUdpBatch(fd, slab, meta, maxDatagram, batch, (count) => {
        server.batches.push(count);
        onBatch?.(count);
        for (let i = 0; i < count; i++) {
          const record = UDP_META_HEADER_WORDS + i * DGRAM_WORDS;
          const address = record + DGRAM_ADDRESS;
          server.peers.push([
            meta[record + DGRAM_FAMILY]!,
            meta[record + DGRAM_PORT]!,
            ...meta.subarray(address, address + DGRAM_ADDRESS_WORDS),
          ]);
          out.set(meta.subarray(record, record + DGRAM_WORDS), record);
          out[record + DGRAM_FLAGS] = 0;
        }
        if (count > 0) server.sends.push([sendUdpBatch(fd, slab, out, count), out[UDP_META_SEND_SENT]!]);
      });
      defer(() => stopUdpBatch(handle));
    },
  };
  return server;
}

const sizes = (seq: number): number => 4 + ((seq * 37) % 1400);

describe('startUdpBatch + sendUdpBatch', () => {
  for (const [type, host, word] of [
    ['udp4', '127.0.0.1', [4, 0x7f00_0001, 0, 0, 0]],
    ['udp6', '::1', [6, 0, 0, 0, 1]],
  ] as const) {
    it(`echo 600 numbered datagrams of 4-1403 bytes intact over ${type}, with the peer in each record`, async () => {
      const server = echoServer(host, 16);
      server.start();
      const client = await UdpClient.open(host);
      defer(() => client.close());
      const echoes = await echoRoundTrips(client, server.port, host, 600, sizes);
      expect(echoes.filter((echo) => echo !== undefined)).toHaveLength(600);
      expect(server.batches.every((count) => count > 0)).toBe(true);
      expect(server.batches.reduce((a, b) => a + b, 0)).toBe(600);
      expect(server.sends.every(([done, sent], i) => done === server.batches[i] && sent === done)).toBe(true);
      const [family, peerPort, ...address] = server.peers[0]!;
      expect([family, ...address]).toEqual(word);
      expect(peerPort).toBe(client.port);
      expect(new Set(server.peers.map((peer) => peer.join()))).toHaveLength(1);
    });
  }

  it('sees an IPv4 client of a dual-stack socket as IPv4-mapped IPv6, and replies to it', async () => {
    const server = echoServer('::', 8);
    server.start();
    const client = await UdpClient.open();
    defer(() => client.close());
    await echoRoundTrips(client, server.port, '127.0.0.1', 20, sizes);
    expect(server.peers[0]).toEqual([6, client.port, 0, 0, 0xffff, 0x7f00_0001]);
  });

  it('takes a burst in batches of at most `batch` datagrams, one callback per batch', async () => {
    const server = echoServer('127.0.0.1', 4);
    const client = await UdpClient.open();
    defer(() => client.close());
    // Queued in the socket before it is polled, so the first readiness round finds all ten.
    for (let seq = 0; seq < 10; seq++) await client.send(payload(seq, 32), server.port, '127.0.0.1');
    server.start();
    await client.waitFor(10);
    expect(server.batches).toEqual([4, 4, 2]);
  });

  it('yields to the event loop after 16 batches in one readiness round, and picks up the rest later', async () => {
    const server = echoServer('127.0.0.1', 1);
    const client = await UdpClient.open();
    defer(() => client.close());
    for (let seq = 0; seq < 40; seq++) await client.send(payload(seq, 32), server.port, '127.0.0.1');
    let batchesBeforeImmediate = -1;
    server.start((count) => {
      // An immediate runs right after the poll phase: it sees how many batches the first round took.
      if (server.batches.length === 1 && count > 0) {
        setImmediate(() => {
          batchesBeforeImmediate = server.batches.length;
        });
      }
    });
    await client.waitFor(40);
    expect(batchesBeforeImmediate).toBe(16);
    expect(server.batches).toEqual(new Array(40).fill(1));
  });
});
