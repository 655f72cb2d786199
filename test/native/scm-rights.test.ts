import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SockshardError } from '../../src/index.js';
import {
  ACCEPTED_FD,
  ACCEPTED_STRIDE,
  close,
  describeSocket,
  listen,
  localPort,
  recvFds,
  SCM_MAX_FDS,
  sendFds,
  startAccepting,
  stopAccepting,
  udpSocket,
  unixConnect,
  unixListen,
  unwatch,
  watchReadable,
} from '../../src/native/binding.js';
import { destroy, openFdCount, readAll, useTeardown } from '../helpers/sockets.js';

const defer = useTeardown();

function socketPath(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sockshard-scm-'));
  defer(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'handover.sock');
}

/** A connected pair of Unix SEQPACKET sockets: `[client, accepted]`, closed in teardown unless `keep`. */
async function unixPair(closeServer = true): Promise<[number, number]> {
  const path = socketPath();
  const listening = unixListen(path);
  defer(() => close(listening));
  const out = new Int32Array(ACCEPTED_STRIDE);
  const accepted = new Promise<number>((resolve) => {
    const handle = startAccepting(listening, out, () => {
      stopAccepting(handle);
      resolve(out[ACCEPTED_FD]!);
    });
  });
  const client = unixConnect(path);
  defer(() => close(client));
  const server = await accepted;
  if (closeServer) defer(() => close(server));
  return [client, server];
}

/** The next message on `fd`, once the watch says one is there. */
function nextMessage(
  fd: number,
  buffer = new Uint8Array(4096),
): Promise<{ text: string; fds: readonly number[] }> {
  return new Promise((resolve, reject) => {
    const handle = watchReadable(fd, (status) => {
      if (status < 0) {
        unwatch(handle);
        reject(new Error(`watch failed: ${status}`));
        return;
      }
      const message = recvFds(fd, buffer);
      if (message === null) return;
      unwatch(handle);
      resolve({ text: Buffer.from(buffer.subarray(0, message.length)).toString(), fds: message.fds });
    });
  });
}

const encode = (text: string) => new TextEncoder().encode(text);

describe('descriptors over a Unix SEQPACKET socket (SCM_RIGHTS)', () => {
  it('passes a listening TCP socket and a UDP socket that keep working after the sender closes its copies', async () => {
    const [client, server] = await unixPair();
    const tcp = listen({ host: '127.0.0.1', port: 0 });
    const udp = udpSocket({ host: '127.0.0.1', port: 0 });
    expect(sendFds(server, encode('two sockets'), [tcp.fd, udp.fd])).toBe('two sockets'.length);
    close(tcp.fd);
    close(udp.fd);
    const message = await nextMessage(client);
    expect(message.text).toBe('two sockets');
    expect(message.fds).toHaveLength(2);
    const [tcpCopy, udpCopy] = message.fds as [number, number];
    defer(() => close(udpCopy));
    expect(localPort(tcpCopy)).toBe(tcp.port);
    expect(describeSocket(tcpCopy)).toEqual({
      type: 'stream',
      family: 'ipv4',
      listening: true,
      reusePort: false,
      address: '127.0.0.1',
      port: tcp.port,
    });
    expect(describeSocket(udpCopy)).toMatchObject({ type: 'dgram', listening: false, port: udp.port });

    // The listening socket survived its sender's close: a connection made now is accepted from the copy.
    const server2 = net.createServer((socket) => socket.end('from the copy'));
    await new Promise<void>((resolve) => server2.listen({ fd: tcpCopy }, resolve));
    defer(() => new Promise((resolve) => server2.close(resolve)));
    const connection = net.connect(tcp.port, '127.0.0.1');
    defer(() => destroy(connection));
    expect((await readAll(connection)).toString()).toBe('from the copy');
  });

  it('keeps message boundaries: each send is one receive, with its own descriptors', async () => {
    const [client, server] = await unixPair();
    const sockets = [0, 1, 2].map(() => udpSocket({ host: '127.0.0.1', port: 0 }));
    sendFds(server, encode('first'), [sockets[0]!.fd]);
    sendFds(server, encode('second'), [sockets[1]!.fd, sockets[2]!.fd]);
    sendFds(server, encode('third'));
    for (const { fd } of sockets) close(fd);
    const buffer = new Uint8Array(64);
    const received: [string, number[]][] = [];
    await new Promise<void>((resolve) => {
      const handle = watchReadable(client, () => {
        for (let message = recvFds(client, buffer); message !== null; message = recvFds(client, buffer)) {
          received.push([
            Buffer.from(buffer.subarray(0, message.length)).toString(),
            message.fds.map((fd) => {
              const port = localPort(fd);
              close(fd);
              return port;
            }),
          ]);
        }
        if (received.length === 3) {
          unwatch(handle);
          resolve();
        }
      });
    });
    expect(received).toEqual([
      ['first', [sockets[0]!.port]],
      ['second', [sockets[1]!.port, sockets[2]!.port]],
      ['third', []],
    ]);
  });

  it('refuses a message larger than the buffer whole, closing the descriptors it carried', async () => {
    const [client, server] = await unixPair();
    const udp = udpSocket({ host: '127.0.0.1', port: 0 });
    const before = openFdCount();
    sendFds(server, encode('x'.repeat(100)), [udp.fd]);
    close(udp.fd);
    const error = await new Promise<unknown>((resolve) => {
      const handle = watchReadable(client, () => {
        unwatch(handle);
        try {
          resolve(recvFds(client, new Uint8Array(10)));
        } catch (thrown) {
          resolve(thrown);
        }
      });
    });
    expect(error).toBeInstanceOf(SockshardError);
    expect(error).toMatchObject({ code: 'EMSGSIZE', syscall: 'recvmsg' });
    // Nothing of that message is left open in this process (the sender's copy is closed too).
    expect(openFdCount()).toBe(before - 1);
  });

  it('reports the peer going away as an empty message, and a send to it as EPIPE', async () => {
    const [client, server] = await unixPair(false);
    const closedMessage = nextMessage(client);
    close(server);
    expect(await closedMessage).toEqual({ text: '', fds: [] });
    expect(() => sendFds(client, encode('anyone?'))).toThrow(expect.objectContaining({ code: 'EPIPE' }));
  });

  it('checks its arguments and names the path in errors', () => {
    const path = socketPath();
    expect(() => unixConnect(path)).toThrow(expect.objectContaining({ code: 'ENOENT', syscall: 'connect' }));
    expect(() => unixConnect(`${path}${'x'.repeat(120)}`)).toThrow(
      expect.objectContaining({ code: 'ENAMETOOLONG' }),
    );
    const listening = unixListen(path);
    defer(() => close(listening));
    expect(() => unixListen(path)).toThrow(
      expect.objectContaining({ code: 'EADDRINUSE', message: expect.stringContaining(path) }),
    );
    expect(describeSocket(listening)).toEqual({
      type: 'seqpacket',
      family: 'unix',
      listening: true,
      reusePort: false,
      address: path,
      port: -1,
    });
    const tooMany = Array.from({ length: SCM_MAX_FDS + 1 }, () => 0);
    expect(() => sendFds(listening, encode('x'), tooMany)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_OPTION', option: 'fds' }),
    );
    expect(() => sendFds(listening, new Uint8Array(0))).toThrow(RangeError);
    expect(() => describeSocket(0x7ffffff0)).toThrow(expect.objectContaining({ code: 'EBADF' }));
  });

  it('describes an IPv6 listener with SO_REUSEPORT', () => {
    const v6 = listen({ host: '::1', port: 0, reusePort: true });
    defer(() => close(v6.fd));
    expect(describeSocket(v6.fd)).toEqual({
      type: 'stream',
      family: 'ipv6',
      listening: true,
      reusePort: true,
      address: '::1',
      port: v6.port,
    });
  });
});
