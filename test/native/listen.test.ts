import { describe, expect, it } from 'vitest';
import { InvalidOptionError, SockshardError, SyscallError } from '../../src/errors.js';
import { close, dup, listen, localPort } from '../../src/native/binding.js';
import { connect, destroy, useTeardown } from '../helpers/sockets.js';

const defer = useTeardown();

function listening(options: Parameters<typeof listen>[0]): { fd: number; port: number } {
  const socket = listen(options);
  defer(() => close(socket.fd));
  return socket;
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe('listen', () => {
  it('binds port 0 to a real port that accepts connections, over IPv4 and IPv6', async () => {
    for (const host of ['127.0.0.1', '::1']) {
      const { fd, port } = listening({ host, port: 0 });
      expect(port).toBeGreaterThan(0);
      expect(localPort(fd)).toBe(port);
      // The kernel completes the handshake from the backlog, before anyone accepts.
      const client = await connect(port, host);
      defer(() => destroy(client));
    }
  });

  it('throws EADDRINUSE as a typed SyscallError when the port is taken without reusePort', () => {
    const { port } = listening({ host: '127.0.0.1', port: 0 });
    const error = thrown(() => listening({ host: '127.0.0.1', port }));
    expect(error).toBeInstanceOf(SockshardError);
    expect(error).toBeInstanceOf(SyscallError);
    expect(error).toMatchObject({
      code: 'EADDRINUSE',
      errno: -98,
      syscall: 'bind',
      address: '127.0.0.1',
      port,
    });
    expect((error as Error).message).toBe(`bind EADDRINUSE: address already in use 127.0.0.1:${port}`);
  });

  it('lets several sockets share a port when all of them ask for reusePort', () => {
    const first = listening({ host: '127.0.0.1', port: 0, reusePort: true });
    const second = listening({ host: '127.0.0.1', port: first.port, reusePort: true });
    expect(second.port).toBe(first.port);
    expect(second.fd).not.toBe(first.fd);
  });

  it('refuses reusePort sharing with a socket that did not ask for it', () => {
    const { port } = listening({ host: '::1', port: 0 });
    expect(() => listening({ host: '::1', port, reusePort: true })).toThrow(
      expect.objectContaining({ code: 'EADDRINUSE', address: '::1', port }),
    );
  });

  it('binds IPv6-only when asked', () => {
    const { port } = listening({ host: '::1', port: 0, ipv6Only: true, backlog: 16 });
    expect(port).toBeGreaterThan(0);
  });

  it('rejects options the kernel would misread before reaching it', () => {
    for (const host of ['localhost', 'fe80::1%lo', '']) {
      expect(() => listen({ host, port: 0 })).toThrow(InvalidOptionError);
    }
    expect(() => listen({ host: '127.0.0.1', port: 65_536 })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_OPTION', option: 'port' }),
    );
    expect(() => listen({ host: '127.0.0.1', port: 0, backlog: 0.5 })).toThrow(
      expect.objectContaining({ option: 'backlog' }),
    );
  });
});

describe('close, dup and localPort', () => {
  it('dup gives a second fd for the same socket, and each closes once', () => {
    const { fd, port } = listen({ host: '127.0.0.1', port: 0 });
    const copy = dup(fd);
    expect(copy).not.toBe(fd);
    expect(localPort(copy)).toBe(port);
    close(fd);
    expect(localPort(copy)).toBe(port);
    close(copy);
    expect(() => close(copy)).toThrow(expect.objectContaining({ code: 'EBADF', syscall: 'close', fd: copy }));
  });

  it('throws typed errors for fds that are not sockets or not open', () => {
    const error = thrown(() => localPort(0x7fff_fff0));
    expect(error).toBeInstanceOf(SyscallError);
    expect(error).toMatchObject({ code: 'EBADF', errno: -9, syscall: 'getsockname', fd: 0x7fff_fff0 });
    expect(() => dup(0x7fff_fff0)).toThrow(expect.objectContaining({ code: 'EBADF', syscall: 'fcntl' }));
  });
});
