import { describe, expect, it } from 'vitest';
import { InvalidOptionError, SyscallError } from '../../src/errors.js';
import {
  type AcceptHandle,
  close,
  listen,
  loadNative,
  resumeAccepting,
  startAccepting,
  stopAccepting,
  udpSocket,
} from '../../src/native/binding.js';
import { afterPollPhase } from '../helpers/loop.js';
import { connect, destroy, useTeardown } from '../helpers/sockets.js';

const defer = useTeardown();

function listening(): { fd: number; port: number } {
  const socket = listen({ host: '127.0.0.1', port: 0 });
  defer(() => close(socket.fd));
  return socket;
}

describe('stopAccepting', () => {
  it('is safe to call twice, before and after libuv has closed the poll; resume is then a no-op', async () => {
    const { fd, port } = listening();
    let calls = 0;
    const handle = startAccepting(fd, new Int32Array(2), () => calls++);
    stopAccepting(handle);
    stopAccepting(handle);
    await new Promise((resolve) => setImmediate(resolve));
    stopAccepting(handle);
    resumeAccepting(handle);
    const client = await connect(port, '127.0.0.1');
    defer(() => destroy(client));
    await afterPollPhase(); // a poll still on would have reported the waiting connection by now
    expect(calls).toBe(0);
  });

  it('stops accepting: later connections stay in the backlog, and a new acceptor picks them up', async () => {
    const { fd, port } = listening();
    const out = new Int32Array(2);
    let accepted = 0;
    const first = startAccepting(fd, out, (count) => {
      accepted += count;
      close(out[0]!);
    });
    stopAccepting(first);
    const client = await connect(port, '127.0.0.1');
    defer(() => destroy(client));
    await afterPollPhase();
    expect(accepted).toBe(0);

    const picked = new Promise<number>((resolve) => {
      const second = startAccepting(fd, out, (count) => {
        stopAccepting(second);
        close(out[0]!);
        resolve(count);
      });
      defer(() => stopAccepting(second));
    });
    expect(await picked).toBe(1);
  });

  it('may be called from inside the callback, which then is not called again for the same round', async () => {
    const { fd, port } = listening();
    const out = new Int32Array(2);
    const batches: number[] = [];
    const clients = await Promise.all([connect(port, '127.0.0.1'), connect(port, '127.0.0.1')]);
    for (const client of clients) defer(() => destroy(client));
    const handle: AcceptHandle = startAccepting(fd, out, (count) => {
      batches.push(count);
      close(out[0]!);
      stopAccepting(handle);
    });
    defer(() => stopAccepting(handle));
    await expect.poll(() => batches).toEqual([1]);
    await afterPollPhase(); // the second connection still waits: a poll still on would take it now
    expect(batches).toEqual([1]);
  });
});

describe('startAccepting argument checks', () => {
  it('rejects an fd that is not a listening socket with EINVAL, and a closed one with EBADF', () => {
    const udp = udpSocket({ host: '127.0.0.1', port: 0 });
    defer(() => close(udp.fd));
    const notListening = (() => {
      try {
        startAccepting(udp.fd, new Int32Array(2), () => {});
      } catch (error) {
        return error;
      }
      return undefined;
    })();
    expect(notListening).toBeInstanceOf(SyscallError);
    expect(notListening).toMatchObject({ code: 'EINVAL', fd: udp.fd });
    expect(() => startAccepting(0x7fff_fff0, new Int32Array(2), () => {})).toThrow(
      expect.objectContaining({ code: 'EBADF' }),
    );
  });

  it('rejects an out array without room for one pair, and handles that did not come from startAccepting', () => {
    const { fd } = listening();
    expect(() => startAccepting(fd, new Int32Array(1), () => {})).toThrow(InvalidOptionError);
    const forged = {} as AcceptHandle;
    expect(() => stopAccepting(forged)).toThrow(TypeError);
    expect(() => loadNative().startAccepting(fd, new Int32Array(1), () => {})).toThrow(RangeError);
  });
});
