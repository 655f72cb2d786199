import dgram from 'node:dgram';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { SyscallError } from '../../src/errors.js';
import { close, localPort, udpSocket } from '../../src/native/binding.js';
import { useTeardown } from '../helpers/sockets.js';

const defer = useTeardown();

/** Node's dgram adopting `fd` as an echo server; closing it closes the fd. */
async function adoptEcho(type: 'udp4' | 'udp6', fd: number): Promise<dgram.Socket> {
  const server = dgram.createSocket(type);
  defer(() => new Promise((resolve) => server.close(() => resolve(undefined))));
  server.on('message', (message, peer) => server.send(message, peer.port, peer.address));
  // dgram emits 'listening' synchronously when it adopts an fd.
  const listening = once(server, 'listening');
  server.bind({ fd });
  await listening;
  return server;
}

async function roundTrip(type: 'udp4' | 'udp6', host: string, port: number, text: string): Promise<string> {
  const client = dgram.createSocket(type);
  defer(() => new Promise((resolve) => client.close(() => resolve(undefined))));
  const reply = once(client, 'message');
  client.send(text, port, host);
  const [message] = (await reply) as [Buffer];
  return message.toString();
}

describe('udpSocket', () => {
  it('is adopted by dgram and echoes, over IPv4 and IPv6', async () => {
    for (const [type, host] of [
      ['udp4', '127.0.0.1'],
      ['udp6', '::1'],
    ] as const) {
      const { fd, port } = udpSocket({ host, port: 0 });
      expect(localPort(fd)).toBe(port);
      const server = await adoptEcho(type, fd);
      expect(server.address().port).toBe(port);
      expect(await roundTrip(type, host, port, `ping ${type}`)).toBe(`ping ${type}`);
    }
  });

  it('applies the buffer sizes asked for (Linux reports them doubled)', async () => {
    const { fd } = udpSocket({ host: '127.0.0.1', port: 0, recvBufferSize: 65_536, sendBufferSize: 32_768 });
    const server = await adoptEcho('udp4', fd);
    expect(server.getRecvBufferSize()).toBe(2 * 65_536);
    expect(server.getSendBufferSize()).toBe(2 * 32_768);
  });

  it('shares a port only when every socket asks for reusePort', () => {
    const first = udpSocket({ host: '127.0.0.1', port: 0, reusePort: true });
    defer(() => close(first.fd));
    const second = udpSocket({ host: '127.0.0.1', port: first.port, reusePort: true });
    defer(() => close(second.fd));
    expect(second.port).toBe(first.port);

    const plain = udpSocket({ host: '127.0.0.1', port: 0 });
    defer(() => close(plain.fd));
    // No SO_REUSEADDR on UDP: with it, this second bind would succeed and steal the first one's datagrams.
    let error: unknown;
    try {
      udpSocket({ host: '127.0.0.1', port: plain.port });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(SyscallError);
    expect(error).toMatchObject({ code: 'EADDRINUSE', syscall: 'bind', port: plain.port });
  });
});
