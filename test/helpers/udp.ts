/**
 * The UDP side of the tests: a node:dgram client for every suite (engine, native batch path, batched
 * port), numbered checkable payloads, echo round trips in windows, and ways to draw ICMP port unreachable.
 */
import dgram from 'node:dgram';
import { once } from 'node:events';
import net from 'node:net';
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

/**
 * A bound node:dgram socket that keeps everything it receives, in arrival order. `receive(n)` hands out
 * the next n not yet handed out; `waitFor(n)` waits until n have arrived in all.
 */
export class UdpClient {
  readonly socket: dgram.Socket;
  readonly host: string;
  readonly port: number;
  /** Everything received, in arrival order. */
  readonly received: Buffer[] = [];
  #taken = 0;
  #wake: (() => void) | undefined;
  #closed = false;

  private constructor(socket: dgram.Socket, host: string) {
    this.socket = socket;
    this.host = host;
    this.port = socket.address().port;
    socket.on('message', (message: Buffer) => {
      this.received.push(message);
      this.#wake?.();
    });
  }

  /** Binds `host` (127.0.0.1 or ::1 for the IPv6 suites) on `port` (0: any), with a 4 MiB receive buffer. */
  static async open(host = '127.0.0.1', port = 0): Promise<UdpClient> {
    const socket = dgram.createSocket({ type: net.isIPv6(host) ? 'udp6' : 'udp4', recvBufferSize: 1 << 22 });
    socket.bind(port, host);
    await once(socket, 'listening');
    return new UdpClient(socket, host);
  }

  /** Resolves once the kernel has taken the datagram (on loopback: it is in the receiver's queue). */
  send(data: Uint8Array | string, port: number, host = this.host): Promise<void> {
    return new Promise((resolve, reject) =>
      this.socket.send(data, port, host, (error) => (error ? reject(error) : resolve())),
    );
  }

  /** Resolves once `count` datagrams in all have arrived; rejects after `timeoutMs`. */
  async waitFor(count: number, timeoutMs = 5_000): Promise<Buffer[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.received.length < count) {
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`received ${this.received.length} of ${count} datagrams in ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = undefined;
    }
    return this.received;
  }

  /** Resolves with the next `count` datagrams not yet handed out; rejects after `timeoutMs`. */
  async receive(count: number, timeoutMs = 5_000): Promise<Buffer[]> {
    await this.waitFor(this.#taken + count, timeoutMs);
    this.#taken += count;
    return this.received.slice(this.#taken - count, this.#taken);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.#closed) return resolve();
      this.#closed = true;
      this.socket.close(() => resolve());
    });
  }
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
  const client = await UdpClient.open();
  const { port } = client;
  await client.close();
  return port;
}

/**
 * Resolves once the kernel has answered a datagram to 127.0.0.1:`port` with port unreachable, seen as
 * ECONNREFUSED on a connected socket of our own. A witness for tests that check that something did NOT see
 * an ICMP error: the datagrams sent to `port` before this one have drawn theirs by then (loopback delivers,
 * and answers, in order).
 */
export async function refusedBy(port: number): Promise<void> {
  const witness = dgram.createSocket('udp4');
  const refused = new Promise<void>((resolve, reject) =>
    witness.on('error', (error: NodeJS.ErrnoException) =>
      error.code === 'ECONNREFUSED' ? resolve() : reject(error),
    ),
  );
  witness.connect(port, '127.0.0.1');
  await once(witness, 'connect');
  witness.send(Uint8Array.of(0));
  await refused;
  await new Promise<void>((resolve) => witness.close(() => resolve()));
}
