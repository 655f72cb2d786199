import { describe, expect, it } from 'vitest';
import { close, localPort, udpSocket } from '../../src/native/binding.js';
import { type SendBatch, UdpBatchedSocket } from '../../src/workers/udp-batched-socket.js';
import { afterPollPhase } from '../helpers/loop.js';
import { useTeardown } from '../helpers/sockets.js';
import { payload, seqOf, UdpClient } from '../helpers/udp.js';

const defer = useTeardown();

function socket(): { fd: number; port: number } {
  const bound = udpSocket({ host: '127.0.0.1', port: 0 });
  defer(() => close(bound.fd));
  return bound;
}

describe('UdpBatchedSocket.close', () => {
  it('is idempotent, stops receiving, and leaves the fd open for its owner', async () => {
    const { fd, port: local } = socket();
    const seen: number[] = [];
    const port = new UdpBatchedSocket(fd, (data) => seen.push(seqOf(data)));
    port.close();
    port.close();
    expect(port.closed).toBe(true);
    const client = await UdpClient.open();
    defer(() => client.close());
    await client.send(payload(1, 8), local, '127.0.0.1');
    await afterPollPhase(); // a poll still on would have taken the datagram by now
    expect(seen).toEqual([]);
    expect(localPort(fd)).toBe(local);
    // The datagram waits in the socket for the next owner.
    const next = new UdpBatchedSocket(fd, (data) => seen.push(seqOf(data)));
    defer(() => next.close());
    await expect.poll(() => seen).toEqual([1]);
  });

  it('from inside the handler ends the batch there, after sending the replies queued so far', async () => {
    const { fd, port: local } = socket();
    const client = await UdpClient.open();
    defer(() => client.close());
    for (let seq = 0; seq < 6; seq++) await client.send(payload(seq, 8), local, '127.0.0.1');
    const seen: number[] = [];
    const port = new UdpBatchedSocket(
      fd,
      (data, peer, self) => {
        seen.push(seqOf(data));
        self.reply(peer, data);
        if (seen.length === 2) {
          self.close();
          self.close();
        }
      },
      { batch: 4 },
    );
    defer(() => port.close());
    expect((await client.waitFor(2)).map(seqOf)).toEqual([0, 1]);
    await afterPollPhase(); // 4 datagrams still wait: a poll still on would take them now
    expect(seen).toEqual([0, 1]);
    expect(port).toMatchObject({ datagramsIn: 2, datagramsOut: 2, sendDropped: 0 });
  });

  it('drops and counts what waits for a retry after a full buffer', async () => {
    const { fd } = socket();
    const client = await UdpClient.open();
    defer(() => client.close());
    const refuseAll: SendBatch = () => 0; // as sendmmsg on a full buffer: nothing taken
    const port = new UdpBatchedSocket(fd, () => {}, { sendBatch: refuseAll });
    port.send(client.port, '127.0.0.1', payload(0, 8));
    port.send(client.port, '127.0.0.1', payload(1, 8));
    port.flush();
    port.close();
    expect(port).toMatchObject({ datagramsOut: 0, sendDropped: 2 });
  });
});
