import { constants } from 'node:os';
import { describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../../src/errors.js';
import {
  close,
  sendUdpBatch,
  UDP_META_HEADER_WORDS,
  UDP_META_SEND_STOP_ERRNO,
  udpSocket,
} from '../../src/native/binding.js';
import {
  type SendBatch,
  UdpBatchedSocket,
  type UdpBatchedSocketOptions,
} from '../../src/workers/udp-batched-socket.js';
import { useTeardown } from '../helpers/sockets.js';
import { payload, seqOf, UdpClient } from '../helpers/udp.js';

const defer = useTeardown();
const { EAGAIN, EMSGSIZE } = constants.errno;

/**
 * A sender that takes at most `budget[0]` datagrams on its next call and then reports a full buffer,
 * as sendmmsg does with EAGAIN (which loopback never returns); with an empty budget it sends everything.
 * Every call's `count` is recorded.
 */
function stingySender(budget: number[], calls: number[]): SendBatch {
  return (fd, slab, meta, count) => {
    calls.push(count);
    const allowed = budget.shift();
    if (allowed === undefined || allowed >= count) return sendUdpBatch(fd, slab, meta, count);
    const done = sendUdpBatch(fd, slab, meta, allowed);
    if (allowed === 0) meta.fill(0, 0, UDP_META_HEADER_WORDS);
    meta[UDP_META_SEND_STOP_ERRNO] = EAGAIN;
    return done;
  };
}

async function setup(
  options: UdpBatchedSocketOptions = {},
): Promise<{ port: UdpBatchedSocket; peer: UdpClient }> {
  const { fd } = udpSocket({ host: '127.0.0.1', port: 0 });
  defer(() => close(fd));
  const port = new UdpBatchedSocket(fd, () => {}, options);
  defer(() => port.close());
  const peer = await UdpClient.open();
  defer(() => peer.close());
  return { port, peer };
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('UdpBatchedSocket sending', () => {
  it('outside a batch, sends what was queued in one sendmmsg on the next turn, or at once on flush()', async () => {
    const calls: number[] = [];
    const { port, peer } = await setup({ sendBatch: stingySender([], calls) });
    for (let seq = 0; seq < 3; seq++) port.send(peer.port, '127.0.0.1', payload(seq, 20));
    expect(calls).toEqual([]);
    await nextTurn();
    expect(calls).toEqual([3]);
    port.send(peer.port, '127.0.0.1', payload(3, 20));
    port.flush();
    expect(calls).toEqual([3, 1]);
    await nextTurn();
    expect(calls).toEqual([3, 1]); // the scheduled flush found nothing left
    expect((await peer.waitFor(4)).map(seqOf)).toEqual([0, 1, 2, 3]);
    expect(port).toMatchObject({ datagramsOut: 4, bytesOut: 80, sendDropped: 0 });
  });

  it('flushes first when the queue or the send slab is full', async () => {
    const calls: number[] = [];
    const { port, peer } = await setup({
      sendQueue: 3,
      sendSlabBytes: 100,
      sendBatch: stingySender([], calls),
    });
    for (let seq = 0; seq < 4; seq++) port.send(peer.port, '127.0.0.1', payload(seq, 10));
    expect(calls).toEqual([3]); // the queue held 3
    port.send(peer.port, '127.0.0.1', payload(4, 60));
    port.send(peer.port, '127.0.0.1', payload(5, 60));
    expect(calls).toEqual([3, 2]); // 10 + 60 + 60 bytes do not fit in 100
    port.flush();
    expect((await peer.waitFor(6)).map(seqOf)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('retries what met a full buffer (EAGAIN) once, on the next turn', async () => {
    const calls: number[] = [];
    const { port, peer } = await setup({ sendBatch: stingySender([2], calls) });
    for (let seq = 0; seq < 5; seq++) port.send(peer.port, '127.0.0.1', payload(seq, 8 + seq));
    port.flush();
    expect(calls).toEqual([5]);
    expect(port.datagramsOut).toBe(2);
    await nextTurn();
    expect(calls).toEqual([5, 3]);
    expect((await peer.waitFor(5)).map(seqOf)).toEqual([0, 1, 2, 3, 4]);
    expect(port).toMatchObject({ datagramsOut: 5, bytesOut: 50, sendDropped: 0, sendErrors: 0 });
  });

  it('drops and counts what meets a full buffer a second time, keeping later datagrams for their own retry', async () => {
    const calls: number[] = [];
    const { port, peer } = await setup({ sendBatch: stingySender([1, 1, 0], calls) });
    for (let seq = 0; seq < 4; seq++) port.send(peer.port, '127.0.0.1', payload(seq, 8));
    port.flush(); // 0 goes; 1-3 wait for a retry
    port.send(peer.port, '127.0.0.1', payload(4, 8));
    port.flush(); // 1 goes; 2-3 met their second full buffer and are dropped; 4 waits for a retry
    expect(port.sendDropped).toBe(2);
    await nextTurn(); // 4 meets its second full buffer: dropped
    expect(calls).toEqual([4, 4, 1]);
    expect(port).toMatchObject({ datagramsOut: 2, sendDropped: 3 });
    port.send(peer.port, '127.0.0.1', payload(5, 8));
    port.flush(); // the buffer has room again
    expect((await peer.waitFor(3)).map(seqOf)).toEqual([0, 1, 5]);
  });

  it('tail-drops a datagram that finds the queue full of ones waiting for their retry', async () => {
    const calls: number[] = [];
    const { port, peer } = await setup({ sendQueue: 2, sendBatch: stingySender([0], calls) });
    port.send(peer.port, '127.0.0.1', payload(0, 8));
    port.send(peer.port, '127.0.0.1', payload(1, 8));
    port.flush(); // both wait for their retry
    port.send(peer.port, '127.0.0.1', payload(2, 8)); // queue full: flushing (the retry) sends both
    await nextTurn();
    expect((await peer.waitFor(3)).map(seqOf)).toEqual([0, 1, 2]);
    expect(calls).toEqual([2, 2, 1]);
    expect(port.sendDropped).toBe(0);

    const stuck = await setup({ sendQueue: 1, sendBatch: stingySender([0, 0], []) });
    stuck.port.send(stuck.peer.port, '127.0.0.1', payload(0, 8));
    stuck.port.flush(); // waits for its retry
    stuck.port.send(stuck.peer.port, '127.0.0.1', payload(1, 8)); // retry refused: 0 dropped, 1 queued
    expect(stuck.port.sendDropped).toBe(1);
  });

  it('counts datagrams that fail on their own without losing the others', async () => {
    const { port, peer } = await setup({ sendSlabBytes: 70_000 });
    port.send(peer.port, '127.0.0.1', payload(0, 8));
    port.send(peer.port, '127.0.0.1', new Uint8Array(65_508)); // EMSGSIZE
    port.send(0, '127.0.0.1', payload(2, 8)); // EINVAL
    port.send(peer.port, '127.0.0.1', payload(3, 8));
    port.flush();
    expect((await peer.waitFor(2)).map(seqOf)).toEqual([0, 3]);
    expect(port).toMatchObject({ datagramsOut: 2, bytesOut: 16, sendErrors: 2, lastSendErrno: EMSGSIZE });

    const small = await setup({ sendSlabBytes: 16 });
    small.port.send(small.peer.port, '127.0.0.1', new Uint8Array(17)); // can never fit
    expect(small.port).toMatchObject({ sendErrors: 1, lastSendErrno: EMSGSIZE, sendDropped: 0 });
  });

  it('sends to IPv6 peers given by any spelling, and to IPv4 ones from a dual-stack socket', async () => {
    const { fd } = udpSocket({ host: '::', port: 0 });
    defer(() => close(fd));
    const port = new UdpBatchedSocket(fd, () => {});
    defer(() => port.close());
    const v6 = await UdpClient.open('::1');
    defer(() => v6.close());
    const v4 = await UdpClient.open();
    defer(() => v4.close());
    port.send(v6.port, '0:0:0:0:0:0:0:1', payload(0, 8));
    port.send(v6.port, '::1', payload(1, 8));
    port.reply({ address: '::1', port: v6.port, family: 6 }, payload(2, 8));
    port.send(v4.port, '127.0.0.1', payload(3, 8));
    port.send(v4.port, '::ffff:127.0.0.1', payload(4, 8));
    port.send(v4.port, '::ffff:7f00:1', payload(5, 8));
    port.flush();
    expect((await v6.waitFor(3)).map(seqOf)).toEqual([0, 1, 2]);
    expect((await v4.waitFor(3)).map(seqOf)).toEqual([3, 4, 5]);
    expect(port.sendErrors).toBe(0);
  });

  it('refuses addresses that are not IP literals and ports out of range', async () => {
    const { port } = await setup();
    expect(() => port.send(9, 'localhost', payload(0, 8))).toThrow(InvalidOptionError);
    expect(() => port.send(9, 'fe80::1%lo', payload(0, 8))).toThrow(InvalidOptionError);
    expect(() => port.send(65_536, '127.0.0.1', payload(0, 8))).toThrow(InvalidOptionError);
    expect(() => port.reply({ address: '1.2.3', port: 9, family: 4 }, payload(0, 8))).toThrow(
      InvalidOptionError,
    );
  });

  it('after close, drops and counts what is sent', async () => {
    const { port, peer } = await setup();
    port.send(peer.port, '127.0.0.1', payload(0, 8));
    port.close(); // sends what was queued
    port.send(peer.port, '127.0.0.1', payload(1, 8));
    port.flush();
    // Had datagram 1 gone, it would be in the peer's queue before a witness sent after it.
    const witness = await UdpClient.open();
    defer(() => witness.close());
    await witness.send(payload(9, 8), peer.port);
    expect((await peer.waitFor(2)).map(seqOf)).toEqual([0, 9]);
    expect(port).toMatchObject({ datagramsOut: 1, sendDropped: 1 });
  });
});
