import { describe, expect, it } from 'vitest';
import type { UdpPeer } from '../../src/handler.js';
import { close, sendUdpBatch, udpSocket } from '../../src/native/binding.js';
import {
  type DatagramHandler,
  UdpBatchedSocket,
  type UdpBatchedSocketOptions,
} from '../../src/workers/udp-batched-socket.js';
import { useTeardown } from '../helpers/sockets.js';
import { echoRoundTrips, payload, seqOf, UdpClient } from '../helpers/udp.js';

const defer = useTeardown();

function serve(
  host: string,
  handler: DatagramHandler,
  options: UdpBatchedSocketOptions = {},
): UdpBatchedSocket {
  const { fd } = udpSocket({ host, port: 0, recvBufferSize: 1 << 20 });
  defer(() => close(fd));
  const port = new UdpBatchedSocket(fd, handler, options);
  defer(() => port.close());
  return port;
}

const echo: DatagramHandler = (data, peer, port) => port.reply(peer, data);
const sizes = (seq: number): number => 4 + ((seq * 37) % 1400);

describe('UdpBatchedSocket', () => {
  for (const [type, host, address] of [
    ['udp4', '127.0.0.1', '127.0.0.1'],
    ['udp6', '::1', '::1'],
  ] as const) {
    it(`echoes 1000 numbered datagrams intact over ${type} and counts them`, async () => {
      const peers: UdpPeer[] = [];
      const port = serve(host, (data, peer, self) => {
        peers.push(peer);
        self.reply(peer, data);
      });
      const client = await UdpClient.open(host);
      defer(() => client.close());
      await echoRoundTrips(client, port.localPort, host, 1000, sizes);
      let bytes = 0;
      for (let seq = 0; seq < 1000; seq++) bytes += sizes(seq);
      expect(port).toMatchObject({
        datagramsIn: 1000,
        bytesIn: bytes,
        datagramsOut: 1000,
        bytesOut: bytes,
        oversized: 0,
        sendErrors: 0,
        sendDropped: 0,
        recvErrors: 0,
      });
      expect(peers[0]).toEqual({ address, port: client.port, family: type === 'udp4' ? 4 : 6 });
      // One peer, one object: a flood from it allocates no address string or peer per datagram.
      expect(new Set(peers).size).toBe(1);
    });
  }

  it('names an IPv4 client of a dual-stack socket as node:dgram does, and replies to it', async () => {
    const peers: UdpPeer[] = [];
    const port = serve('::', (data, peer, self) => {
      peers.push(peer);
      self.reply(peer, data);
    });
    const client = await UdpClient.open();
    defer(() => client.close());
    await echoRoundTrips(client, port.localPort, '127.0.0.1', 10, sizes);
    expect(peers[0]).toEqual({ address: '::ffff:127.0.0.1', port: client.port, family: 6 });
  });

  it('hands the handler zero-copy views of a shared slab, and sends one sendmmsg per batch', async () => {
    const { fd, port: localPort } = udpSocket({ host: '127.0.0.1', port: 0 });
    defer(() => close(fd));
    const client = await UdpClient.open();
    defer(() => client.close());
    // Queued before the port polls, so its first readiness round finds all ten.
    for (let seq = 0; seq < 10; seq++) await client.send(payload(seq, 64), localPort, '127.0.0.1');
    const views: Uint8Array[] = [];
    const flushes: number[] = [];
    const port = new UdpBatchedSocket(
      fd,
      (data, peer, self) => {
        views.push(data);
        self.reply(peer, data);
      },
      {
        batch: 4,
        sendBatch: (sendFd, slab, meta, count) => {
          flushes.push(count);
          return sendUdpBatch(sendFd, slab, meta, count);
        },
      },
    );
    defer(() => port.close());
    expect((await client.waitFor(10)).map(seqOf)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(flushes).toEqual([4, 4, 2]);
    expect(views[0]!.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(views[0]!.buffer).toBe(views[9]!.buffer);
    expect(views.map((view) => view.byteOffset)).toEqual([0, 2048, 4096, 6144, 0, 2048, 4096, 6144, 0, 2048]);
  });

  it('rejects options out of range', () => {
    const { fd } = udpSocket({ host: '127.0.0.1', port: 0 });
    defer(() => close(fd));
    expect(() => new UdpBatchedSocket(fd, echo, { maxDatagram: 0 })).toThrow(/maxDatagram/);
    expect(() => new UdpBatchedSocket(fd, echo, { batch: 1025 })).toThrow(/batch/);
    expect(() => new UdpBatchedSocket(fd, echo, { sendQueue: 0 })).toThrow(/sendQueue/);
    expect(() => new UdpBatchedSocket(fd, echo, { sendSlabBytes: 0.5 })).toThrow(/sendSlabBytes/);
  });
});
