import { describe, expect, it } from 'vitest';
import {
  AdoptError,
  HandlerError,
  HandlerLoadError,
  RingRangeError,
  reviveError,
  SockshardError,
  SyscallError,
  serializeError,
} from '../src/errors.js';
import { close, listen } from '../src/native/binding.js';
import { createRing } from '../src/ring/index.js';
import { useTeardown } from './helpers/sockets.js';

const defer = useTeardown();

/** A real SyscallError from the addon: EADDRINUSE on a port this test holds. */
function addressInUse(): SyscallError {
  const held = listen({ host: '127.0.0.1', port: 0 });
  defer(() => close(held.fd));
  try {
    listen({ host: '127.0.0.1', port: held.port });
  } catch (error) {
    return error as SyscallError;
  }
  throw new Error(`port ${held.port} was not in use`);
}

describe('errors', () => {
  it('names a syscall error by its class, whether the addon threw it or it crossed from a shard', () => {
    const native = addressInUse();
    expect(native).toBeInstanceOf(SyscallError);
    expect(native.name).toBe('SyscallError');
    expect(String(native)).toMatch(/^SyscallError: bind EADDRINUSE: .* 127\.0\.0\.1:\d+$/);

    const revived = reviveError(serializeError(native), 1, { listenerId: 2 });
    expect(revived).toBeInstanceOf(SyscallError);
    expect(revived).toMatchObject({
      name: 'SyscallError',
      code: 'EADDRINUSE',
      syscall: 'bind',
      errno: native.errno,
      port: native.port,
      shardId: 1,
      message: native.message,
    });
    expect(revived.stack).toContain('--- in the shard ---');
  });

  it('revives a socket a shard could not adopt as an AdoptError, an engine fault rather than a handler error', () => {
    const inShard = new AdoptError(1, 3, 'fd 42: EBADF', new Error('EBADF'));
    expect(inShard).toMatchObject({ code: 'ERR_ADOPT', shardId: 1, listenerId: 3, reason: 'fd 42: EBADF' });
    const revived = reviveError(serializeError(inShard), 1, { listenerId: 3 });
    expect(revived).toBeInstanceOf(AdoptError);
    expect(revived).not.toBeInstanceOf(HandlerError);
    expect(revived).toMatchObject({ code: 'ERR_ADOPT', name: 'AdoptError', message: inShard.message });
  });

  it('revives a handler module that failed to load, and anything else as the handler error it is', () => {
    const load = reviveError(
      serializeError(new HandlerLoadError('file:///x.js', 'could not be imported')),
      0,
    );
    expect(load).toBeInstanceOf(HandlerLoadError);
    expect(load).toMatchObject({ module: 'file:///x.js', shardId: 0 });
    const thrownInSetup = reviveError(serializeError(new TypeError('no such key')), 1, { listenerId: 0 });
    expect(thrownInSetup).toBeInstanceOf(HandlerError);
    expect(thrownInSetup).toMatchObject({ code: 'ERR_HANDLER', listenerId: 0 });
  });

  it('gives ring arguments out of range a code, and keeps them RangeErrors as the ring contract says', () => {
    const create = () => createRing({ capacity: 1000 });
    expect(create).toThrow(RingRangeError);
    expect(create).toThrow(RangeError);
    expect(create).toThrow(SockshardError);
    expect(create).toThrow(expect.objectContaining({ code: 'ERR_RING_RANGE', name: 'RingRangeError' }));
  });
});
