import { describe, expect, it } from 'vitest';
import { InvalidOptionError, SyscallError } from '../../src/errors.js';
import {
  type AcceptHandle,
  close,
  listen,
  loadNative,
  resumeUdpBatch,
  startAccepting,
  startUdpBatch,
  stopAccepting,
  stopUdpBatch,
  type UdpBatchHandle,
  udpBatchError,
  udpBatchSizes,
  udpSocket,
} from '../../src/native/binding.js';
import { afterPollPhase } from '../helpers/loop.js';
import { useTeardown } from '../helpers/sockets.js';
import { payload, UdpClient } from '../helpers/udp.js';

const defer = useTeardown();
const MAX = 64;

function buffers(batch: number): { slab: Uint8Array; meta: Int32Array } {
  const { slabBytes, metaLength } = udpBatchSizes(MAX, batch);
  return {
    slab: new Uint8Array(new SharedArrayBuffer(slabBytes)),
    meta: new Int32Array(new SharedArrayBuffer(metaLength * Int32Array.BYTES_PER_ELEMENT)),
  };
}

function bound(): { fd: number; port: number } {
  const socket = udpSocket({ host: '127.0.0.1', port: 0 });
  defer(() => close(socket.fd));
  return socket;
}

async function burst(port: number, count: number): Promise<void> {
  const client = await UdpClient.open();
  defer(() => client.close());
  for (let seq = 0; seq < count; seq++) await client.send(payload(seq, 16), port, '127.0.0.1');
}

describe('stopUdpBatch', () => {
  it('is safe to call twice, before and after libuv has closed the poll; resume is then a no-op', async () => {
    const { fd, port } = bound();
    const { slab, meta } = buffers(2);
    let calls = 0;
    const handle = startUdpBatch(fd, slab, meta, MAX, 2, () => calls++);
    stopUdpBatch(handle);
    stopUdpBatch(handle);
    await new Promise((resolve) => setImmediate(resolve));
    stopUdpBatch(handle);
    resumeUdpBatch(handle);
    await burst(port, 1);
    await afterPollPhase(); // a poll still on would have reported the waiting datagram by now
    expect(calls).toBe(0);
  });

  it('may be called from inside the callback, which then is not called again for the same round', async () => {
    const { fd, port } = bound();
    const { slab, meta } = buffers(2);
    await burst(port, 10);
    const counts: number[] = [];
    const handle: UdpBatchHandle = startUdpBatch(fd, slab, meta, MAX, 2, (count) => {
      counts.push(count);
      stopUdpBatch(handle);
    });
    defer(() => stopUdpBatch(handle));
    await expect.poll(() => counts).toEqual([2]);
    await afterPollPhase(); // 8 datagrams still wait: a poll still on would take some now
    expect(counts).toEqual([2]);
  });

  it('leaves the datagrams it did not take in the socket, for a later poll on the same fd', async () => {
    const { fd, port } = bound();
    const { slab, meta } = buffers(4);
    const first = startUdpBatch(fd, slab, meta, MAX, 4, () => {});
    stopUdpBatch(first);
    await burst(port, 6);
    const counts: number[] = [];
    const second = startUdpBatch(fd, slab, meta, MAX, 4, (count) => counts.push(count));
    defer(() => stopUdpBatch(second));
    await expect.poll(() => counts).toEqual([4, 2]);
  });

  it('tells its handles from the acceptor’s', () => {
    const { fd } = bound();
    const listening = listen({ host: '127.0.0.1', port: 0 });
    defer(() => close(listening.fd));
    const acceptor = startAccepting(listening.fd, new Int32Array(2), () => {});
    defer(() => stopAccepting(acceptor));
    const { slab, meta } = buffers(1);
    const udp = startUdpBatch(fd, slab, meta, MAX, 1, () => {});
    defer(() => stopUdpBatch(udp));
    expect(() => stopUdpBatch(acceptor as unknown as UdpBatchHandle)).toThrow(TypeError);
    expect(() => stopAccepting(udp as unknown as AcceptHandle)).toThrow(TypeError);
    expect(() => resumeUdpBatch({} as UdpBatchHandle)).toThrow(TypeError);
  });
});

describe('startUdpBatch argument checks', () => {
  it('rejects fds that are not UDP sockets: a TCP listener with EPROTOTYPE, a closed fd with EBADF', () => {
    const listening = listen({ host: '127.0.0.1', port: 0 });
    defer(() => close(listening.fd));
    const { slab, meta } = buffers(1);
    let error: unknown;
    try {
      startUdpBatch(listening.fd, slab, meta, MAX, 1, () => {});
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(SyscallError);
    expect(error).toMatchObject({ code: 'EPROTOTYPE', syscall: 'getsockopt', fd: listening.fd });
    expect(() => startUdpBatch(0x7fff_fff0, slab, meta, MAX, 1, () => {})).toThrow(
      expect.objectContaining({ code: 'EBADF' }),
    );
  });

  it('rejects buffers too small for the batch, sizes out of range, and wrong types', () => {
    const { fd } = bound();
    const { slab, meta } = buffers(4);
    expect(() => startUdpBatch(fd, slab.subarray(1), meta, MAX, 4, () => {})).toThrow(InvalidOptionError);
    expect(() => startUdpBatch(fd, slab, meta.subarray(1), MAX, 4, () => {})).toThrow(InvalidOptionError);
    expect(() => startUdpBatch(fd, slab, meta, 0, 4, () => {})).toThrow(InvalidOptionError);
    expect(() => startUdpBatch(fd, slab, meta, MAX, 1025, () => {})).toThrow(InvalidOptionError);
    const native = loadNative();
    expect(() => native.startUdpBatch(fd, slab.subarray(1), meta, MAX, 4, () => {})).toThrow(RangeError);
    expect(() => native.startUdpBatch(fd, slab, meta.subarray(1), MAX, 4, () => {})).toThrow(RangeError);
    expect(() => native.startUdpBatch(fd, slab, meta, 65_528, 1, () => {})).toThrow(RangeError);
    expect(() => native.startUdpBatch(fd, meta as never, meta, MAX, 4, () => {})).toThrow(TypeError);
    expect(() => native.startUdpBatch(fd, slab, slab as never, MAX, 4, () => {})).toThrow(TypeError);
    expect(() => native.startUdpBatch(fd, slab, meta, MAX, 4, 'nope' as never)).toThrow(TypeError);
  });
});

describe('buffers detached while polling', () => {
  it('are never written through: receiving pauses with -EFAULT', async () => {
    const { fd, port } = bound();
    const { slabBytes, metaLength } = udpBatchSizes(MAX, 2);
    const plain = new ArrayBuffer(slabBytes);
    const slab = new Uint8Array(plain);
    const meta = new Int32Array(metaLength);
    const counts: number[] = [];
    const handle = startUdpBatch(fd, slab, meta, MAX, 2, (count) => counts.push(count));
    defer(() => stopUdpBatch(handle));
    structuredClone(plain, { transfer: [plain] });
    expect(slab.length).toBe(0);
    await burst(port, 3);
    await expect.poll(() => counts).toEqual([-14]);
    expect(udpBatchError(counts[0]!).code).toBe('EFAULT');
    // Paused, not spinning: the datagrams still wait and nothing more is reported; resuming reports again, once.
    await afterPollPhase();
    expect(counts).toEqual([-14]);
    resumeUdpBatch(handle);
    await expect.poll(() => counts).toEqual([-14, -14]);
    await afterPollPhase();
    expect(counts).toEqual([-14, -14]);
  });
});
