import { once } from 'node:events';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import {
  ACCEPTED_FD,
  ACCEPTED_STRIDE,
  type AcceptCallback,
  close,
  listen,
  startAccepting,
  stopAccepting,
} from '../../src/native/binding.js';
import { connect, destroy, readAll, useTeardown } from '../helpers/sockets.js';

const defer = useTeardown();

/** A listening socket whose accepted connections echo, with the batch sizes the callback saw. */
function echoServer(pairs: number, host = '127.0.0.1'): { port: number; batches: number[]; start(): void } {
  const { fd, port } = listen({ host, port: 0 });
  defer(() => close(fd));
  const out = new Int32Array(pairs * ACCEPTED_STRIDE);
  const batches: number[] = [];
  const onBatch: AcceptCallback = (count) => {
    batches.push(count);
    for (let i = 0; i < count; i++) {
      const socket = new net.Socket({
        fd: out[i * ACCEPTED_STRIDE + ACCEPTED_FD]!,
        readable: true,
        writable: true,
      });
      defer(() => destroy(socket));
      socket.pipe(socket);
    }
  };
  return {
    port,
    batches,
    start() {
      const handle = startAccepting(fd, out, onBatch);
      defer(() => stopAccepting(handle));
    },
  };
}

async function echoes(client: net.Socket, text: string): Promise<string> {
  client.end(text);
  return (await readAll(client)).toString();
}

describe('startAccepting', () => {
  it('hands over fds that net.Socket adopts and echoes over', async () => {
    const server = echoServer(8);
    server.start();
    const clients = await Promise.all(Array.from({ length: 5 }, () => connect(server.port, '127.0.0.1')));
    for (const client of clients) defer(() => destroy(client));
    const replies = await Promise.all(clients.map((client, i) => echoes(client, `hello ${i}`)));
    expect(replies).toEqual(clients.map((_, i) => `hello ${i}`));
    expect(server.batches.reduce((a, b) => a + b, 0)).toBe(5);
  });

  it('drains a backlog in batches of at most out.length / 2, one callback per batch', async () => {
    const server = echoServer(2, '::1');
    // Handshakes complete in the kernel's backlog, so all five wait there when polling starts.
    const clients = await Promise.all(Array.from({ length: 5 }, () => connect(server.port, '::1')));
    for (const client of clients) defer(() => destroy(client));
    server.start();
    const replies = await Promise.all(clients.map((client, i) => echoes(client, `v6 ${i}`)));
    expect(replies).toEqual(clients.map((_, i) => `v6 ${i}`));
    expect(server.batches).toEqual([2, 2, 1]);
  });

  it('delivers every byte a client writes right after connecting (1 MiB)', async () => {
    const { fd, port } = listen({ host: '127.0.0.1', port: 0 });
    defer(() => close(fd));
    const out = new Int32Array(2);
    const payload = Buffer.alloc(1 << 20);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 31 + (i >> 8)) & 0xff;
    const received = new Promise<Buffer>((resolve) => {
      const handle = startAccepting(fd, out, (count) => {
        stopAccepting(handle);
        expect(count).toBe(1);
        const socket = new net.Socket({ fd: out[ACCEPTED_FD]!, readable: true, writable: true });
        defer(() => destroy(socket));
        resolve(readAll(socket));
      });
      defer(() => stopAccepting(handle));
    });
    const client = net.connect(port, '127.0.0.1');
    defer(() => destroy(client));
    client.end(payload);
    await once(client, 'finish');
    expect((await received).equals(payload)).toBe(true);
  });
});
