import { describe, expect, it } from 'vitest';
import { close, udpSocket } from '../../src/native/binding.js';
import { type DatagramHandler, UdpBatchedSocket } from '../../src/workers/udp-batched-socket.js';
import { afterPollPhase } from '../helpers/loop.js';
import { useTeardown } from '../helpers/sockets.js';
import { closedPort, connectFd, payload, refusedBy, seqOf, UdpClient } from '../helpers/udp.js';

const defer = useTeardown();
const echo: DatagramHandler = (data, peer, port) => port.reply(peer, data);

describe('UdpBatchedSocket replying to a port that has closed (ICMP port unreachable)', () => {
  it('on a connected socket, counts the refusals, never pauses, and serves the peer once it is back', async () => {
    const { fd, port: local } = udpSocket({ host: '127.0.0.1', port: 0 });
    defer(() => close(fd));
    const peerPort = await closedPort();
    await connectFd(fd, peerPort);
    const errors: unknown[] = [];
    const port = new UdpBatchedSocket(fd, echo, { onError: (error) => errors.push(error) });
    defer(() => port.close());

    for (let seq = 0; seq < 3; seq++) {
      const before = port.icmpErrors;
      port.send(peerPort, '127.0.0.1', payload(seq, 8));
      port.flush();
      await expect.poll(() => port.icmpErrors).toBeGreaterThan(before);
    }
    expect(port).toMatchObject({ paused: false, recvErrors: 0, sendErrors: 0, datagramsOut: 3 });

    const peer = await UdpClient.open('127.0.0.1', peerPort);
    defer(() => peer.close());
    for (let seq = 10; seq < 15; seq++) await peer.send(payload(seq, 8), local, '127.0.0.1');
    expect((await peer.waitFor(5)).map(seqOf)).toEqual([10, 11, 12, 13, 14]);
    expect(errors).toEqual([]);
  });

  it('on an unconnected socket, sees no error at all and keeps serving', async () => {
    const { fd, port: local } = udpSocket({ host: '127.0.0.1', port: 0 });
    defer(() => close(fd));
    const port = new UdpBatchedSocket(fd, echo);
    defer(() => port.close());
    const client = await UdpClient.open();
    await client.send(payload(0, 8), local, '127.0.0.1');
    await client.waitFor(1);
    await client.close(); // its next echo draws port unreachable
    const other = await UdpClient.open();
    defer(() => other.close());
    port.send(client.port, '127.0.0.1', payload(1, 8));
    port.flush();
    // The kernel has answered datagram 1 by the time it refuses our witness, and the poll has looked since.
    await refusedBy(client.port);
    await afterPollPhase();
    expect(port.icmpErrors).toBe(0);
    await other.send(payload(2, 8), local, '127.0.0.1');
    expect((await other.waitFor(1)).map(seqOf)).toEqual([2]);
    expect(port).toMatchObject({ icmpErrors: 0, paused: false, datagramsIn: 2, datagramsOut: 3 });
  });
});
