import { randomBytes } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import { describe, expect, it } from 'vitest';
import {
  ACCEPTED_FD,
  ACCEPTED_STRIDE,
  addHeaderFd,
  close,
  HEADER_ADDRESS,
  HEADER_FD,
  HEADER_NO_TICKET,
  HEADER_PEEK_CLIENT_HELLO,
  HEADER_PENDING,
  HEADER_STATUS,
  HEADER_TICKET,
  HEADER_WORDS,
  listen,
  startAccepting,
  startHeaderReader,
  stopAccepting,
  stopHeaderReader,
} from '../../src/native/binding.js';
import { closed, destroy, useTeardown } from '../helpers/sockets.js';
import { selfSignedCertificate } from '../helpers/tls.js';

const defer = useTeardown();
const certificate = await selfSignedCertificate('localhost');

interface Peeked {
  readonly status: number;
  readonly keyName: string;
}

/**
 * A TLS server behind a ClientHello peek: each accepted fd is peeked (at once if its ClientHello is queued,
 * else when it comes), then adopted and given to a tls.Server that answers 'ok'. Resolves what each peek
 * saw, in order.
 */
function peekingServer(ticketKeys: Buffer) {
  const { fd: listenFd, port } = listen({ host: '127.0.0.1', port: 0 });
  defer(() => close(listenFd));
  const server = tls.createServer({ ...certificate, ticketKeys }, (socket) => socket.end('ok'));
  const peeked: Peeked[] = [];
  const out = new Int32Array(4 * HEADER_WORDS);
  const now = new Int32Array(HEADER_WORDS);
  // What a peek saw (at add or later, through the callback); then TLS takes the connection.
  const result = (words: Int32Array, record: number): void => {
    const start = (record + HEADER_ADDRESS) * 4;
    peeked.push({
      status: words[record + HEADER_STATUS]!,
      keyName: Buffer.from(words.buffer, start, 16).toString('hex'),
    });
    const socket = new net.Socket({ fd: words[record + HEADER_FD]!, readable: true, writable: true });
    defer(() => destroy(socket));
    server.emit('connection', socket);
  };
  const reader = startHeaderReader(HEADER_PEEK_CLIENT_HELLO, 107, new Uint8Array(0), out, (count) => {
    for (let i = 0; i < count; i++) result(out, i * HEADER_WORDS);
  });
  defer(() => stopHeaderReader(reader));
  const acceptOut = new Int32Array(4 * ACCEPTED_STRIDE);
  const acceptor = startAccepting(listenFd, acceptOut, (count) => {
    for (let i = 0; i < count; i++) {
      if (addHeaderFd(reader, acceptOut[i * ACCEPTED_STRIDE + ACCEPTED_FD]!, now) !== HEADER_PENDING)
        result(now, 0);
    }
  });
  defer(() => stopAccepting(acceptor));
  return { port, peeked };
}

/** Connects, reads the server's 'ok', and resolves with the session to resume next time. */
function visit(port: number, options: tls.ConnectionOptions): Promise<{ session: Buffer; reused: boolean }> {
  return new Promise((resolve, reject) => {
    let session: Buffer | undefined;
    const socket = tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false, ...options });
    socket.on('session', (s: Buffer) => {
      session = s;
    });
    socket.on('error', reject);
    socket.setEncoding('utf8');
    socket.on('data', () => {});
    socket.on('end', () => {
      const reused = socket.isSessionReused();
      // TLS 1.3 tickets come after the handshake: by 'end' the server has sent them.
      void closed(socket).then(() => resolve({ session: session!, reused }));
    });
  });
}

describe('ClientHello peek', () => {
  for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
    it(`reports the key name of the ticket a ${version} client offers, and consumes nothing`, async () => {
      const keys = randomBytes(48);
      const server = peekingServer(keys);
      const options = { minVersion: version, maxVersion: version };
      const first = await visit(server.port, options);
      expect(first.reused).toBe(false);
      const second = await visit(server.port, { ...options, session: first.session });
      expect(second.reused).toBe(true);
      expect(server.peeked).toEqual([
        { status: HEADER_NO_TICKET, keyName: '00'.repeat(16) },
        { status: HEADER_TICKET, keyName: keys.subarray(0, 16).toString('hex') },
      ]);
    });
  }

  it('lets bytes that are no ClientHello through to TLS, which refuses them', async () => {
    const server = peekingServer(randomBytes(48));
    const socket = net.connect({ port: server.port, host: '127.0.0.1' });
    socket.on('error', () => {});
    socket.end('GET / HTTP/1.1\r\n\r\n');
    await closed(socket);
    expect(server.peeked.map((p) => p.status)).toEqual([HEADER_NO_TICKET]);
  });
});
