/**
 * A node:dgram client for the UDP batch tests (not a worker entry; it sits with the UDP fixtures because
 * the tests of the native path and of UdpBatchedSocket both use it): numbered, checkable payloads, and
 * echo round trips sent in windows so that loopback never overflows the server's receive buffer.
 */
import dgram from 'node:dgram';
import { once } from 'node:events';
import { dup } from '../../src/native/binding.js';

const SEQ_BYTES = 4;

/** `size` bytes (at least 4): the sequence number (big-endian), then bytes derived from it and their index. */
export function payload(seq: number, size: number): Buffer {
  const bytes = Buffer.alloc(Math.max(size, SEQ_BYTES));
  bytes.writeUInt32BE(seq, 0);
  for (let i = SEQ_BYTES; i < bytes.length; i++) bytes[i] = (seq * 31 + i * 7) & 0xff;
  return bytes;
}

export function seqOf(bytes: Uint8Array): number {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).readUInt32BE(0);
}

export interface UdpClient {
  readonly socket: dgram.Socket;
  readonly port: number;
  /** Everything received, in arrival order. */
  readonly received: Buffer[];
  send(bytes: Uint8Array, port: number, host: string): Promise<void>;
  /** Resolves once `count` datagrams in all have arrived; rejects after `timeoutMs`. */
  waitFor(count: number, timeoutMs?: number): Promise<Buffer[]>;
  close(): Promise<void>;
}

export async function udpClient(type: 'udp4' | 'udp6', host: string, port = 0): Promise<UdpClient> {
  const socket = dgram.createSocket({ type, recvBufferSize: 1 << 22 });
  const received: Buffer[] = [];
  let wake: (() => void) | undefined;
  socket.on('message', (message: Buffer) => {
    received.push(message);
    wake?.();
  });
  socket.bind(port, host);
  await once(socket, 'listening');
  let closed = false;
  return {
    socket,
    port: socket.address().port,
    received,
    send: (bytes, to, toHost) =>
      new Promise((resolve, reject) =>
        socket.send(bytes, to, toHost, (error) => (error ? reject(error) : resolve())),
      ),
    async waitFor(count, timeoutMs = 5_000) {
      const deadline = Date.now() + timeoutMs;
      while (received.length < count) {
        const left = deadline - Date.now();
        if (left <= 0)
          throw new Error(`received ${received.length} of ${count} datagrams in ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = undefined;
      }
      return received;
    },
    close: () =>
      new Promise((resolve) => {
        if (closed) return resolve();
        closed = true;
        socket.close(() => resolve());
      }),
  };
}

/**
 * Sends `count` numbered payloads of sizes from `size(seq)` to an echo server, `window` at a time, and
 * checks that every echo came back exactly once with its bytes intact. Returns the echoes by sequence.
 */
export async function echoRoundTrips(
  client: UdpClient,
  port: number,
  host: string,
  count: number,
  size: (seq: number) => number,
  window = 64,
): Promise<Buffer[]> {
  const start = client.received.length;
  for (let first = 0; first < count; first += window) {
    const last = Math.min(first + window, count);
    for (let seq = first; seq < last; seq++) await client.send(payload(seq, size(seq)), port, host);
    await client.waitFor(start + last);
  }
  const bySeq: Buffer[] = [];
  for (const echo of client.received.slice(start)) {
    const seq = seqOf(echo);
    if (bySeq[seq] !== undefined) throw new Error(`echo ${seq} arrived twice`);
    if (!echo.equals(payload(seq, size(seq)))) throw new Error(`echo ${seq} came back altered`);
    bySeq[seq] = echo;
  }
  return bySeq;
}

/**
 * Connects the socket behind `fd` to 127.0.0.1:`port`. Node has no connect for a bare fd, so node:dgram
 * connects a duplicate and is closed again: the connection belongs to the socket, not to the fd. Linux
 * keeps ICMP errors (port unreachable: ECONNREFUSED) as a pending socket error only on connected UDP
 * sockets (or with IP_RECVERR), so this is how a test makes them happen.
 */
export async function connectFd(fd: number, port: number): Promise<void> {
  const socket = dgram.createSocket('udp4');
  socket.bind({ fd: dup(fd) });
  socket.connect(port, '127.0.0.1');
  await once(socket, 'connect');
  await new Promise<void>((resolve) => socket.close(() => resolve()));
}

/** A free port: bound, then closed, so a datagram to it draws ICMP port unreachable. */
export async function closedPort(): Promise<number> {
  const client = await udpClient('udp4', '127.0.0.1');
  await client.close();
  return client.port;
}
