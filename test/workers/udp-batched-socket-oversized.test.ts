import { describe, expect, it } from 'vitest';
import { close, udpSocket } from '../../src/native/binding.js';
import { UdpBatchedSocket } from '../../src/workers/udp-batched-socket.js';
import { useTeardown } from '../helpers/sockets.js';
import { payload, seqOf, UdpClient } from '../helpers/udp.js';

const defer = useTeardown();

describe('UdpBatchedSocket with datagrams longer than maxDatagram', () => {
  it('never delivers them, cut or whole: it counts them, and the next ones still arrive', async () => {
    const { fd, port: localPort } = udpSocket({ host: '127.0.0.1', port: 0 });
    defer(() => close(fd));
    const client = await UdpClient.open();
    defer(() => client.close());
    const lengths = [50, 100, 101, 9000, 60, 65_000, 4];
    // Queued first, so that the oversized ones sit in the middle of one batch.
    for (const [seq, length] of lengths.entries())
      await client.send(payload(seq, length), localPort, '127.0.0.1');
    const delivered: number[][] = [];
    const port = new UdpBatchedSocket(
      fd,
      (data, peer, self) => {
        delivered.push([seqOf(data), data.length]);
        self.reply(peer, data);
      },
      { maxDatagram: 100, batch: 8 },
    );
    defer(() => port.close());
    await client.waitFor(4);
    expect(delivered).toEqual([
      [0, 50],
      [1, 100],
      [4, 60],
      [6, 4],
    ]);
    expect(client.received.map(seqOf)).toEqual([0, 1, 4, 6]);
    expect(port).toMatchObject({
      oversized: 3,
      datagramsIn: 4,
      bytesIn: 214,
      datagramsOut: 4,
      recvErrors: 0,
    });
  });
});
