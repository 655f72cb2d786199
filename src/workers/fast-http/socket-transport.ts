import net from 'node:net';
import type { FastConnection } from './connection.js';
import type { Transport } from './transport.js';

/** What a socket reports, per connection. */
export interface SocketSink {
  batch(): void;
}

/**
 * Design (a) of the fast path: the same HTTP connection over Node's `net.Socket` (one 'data' event and one
 * JS turn per read, one libuv write request per corked batch). Measured against the native stream group.
 */
export class SocketTransport implements Transport {
  readonly reusesInput = false;
  readonly #sink: SocketSink;
  readonly #sockets: (net.Socket | undefined)[] = [];
  readonly #free: number[] = [];
  readonly #corked = new Set<net.Socket>();
  #uncorkQueued = false;

  constructor(sink: SocketSink) {
    this.#sink = sink;
  }

  open(fd: number): number {
    const socket = new net.Socket({ fd, readable: true, writable: true, allowHalfOpen: true });
    socket.setNoDelay(true);
    const id = this.#free.pop() ?? this.#sockets.length;
    this.#sockets[id] = socket;
    return id;
  }

  attach(connection: FastConnection): void {
    const socket = this.#sockets[connection.id]!;
    socket.on('data', (chunk: Buffer) => {
      this.#sink.batch();
      connection.data(chunk, 0, chunk.length);
    });
    socket.on('end', () => connection.eof());
    socket.on('error', () => connection.error());
    socket.on('drain', () => connection.drained());
    socket.on('close', () => {
      this.#release(connection.id, socket);
      connection.closed();
    });
  }

  send(connection: FastConnection, head: string, body: string | Uint8Array | null): void {
    if (typeof body === 'string' || body === null) {
      // One write, no cork: the cheapest a net.Socket gets (a head is ASCII unless a header value is not).
      this.#sockets[connection.id]?.write(body === null ? head : head + body);
      return;
    }
    const socket = this.#cork(connection);
    if (socket === undefined) return;
    socket.write(head, 'latin1');
    socket.write(body);
  }

  sendChunk(
    connection: FastConnection,
    prefix: string,
    chunk: string | Uint8Array | null,
    suffix: string,
  ): void {
    const socket = this.#cork(connection);
    if (socket === undefined) return;
    if (prefix.length > 0) socket.write(prefix, 'latin1');
    if (chunk !== null) socket.write(chunk);
    if (suffix.length > 0) socket.write(suffix, 'latin1');
  }

  end(connection: FastConnection): void {
    this.#sockets[connection.id]?.end();
  }

  destroy(connection: FastConnection): void {
    const socket = this.#sockets[connection.id];
    if (socket === undefined) return;
    this.#release(connection.id, socket);
    socket.destroy();
  }

  pause(connection: FastConnection, paused: boolean): void {
    const socket = this.#sockets[connection.id];
    if (paused) socket?.pause();
    else socket?.resume();
  }

  congested(connection: FastConnection): boolean {
    return this.#sockets[connection.id]?.writableNeedDrain ?? false;
  }

  flush(): void {
    this.#uncorkQueued = false;
    for (const socket of this.#corked) socket.uncork();
    this.#corked.clear();
  }

  stop(): void {
    for (const socket of this.#sockets) socket?.destroy();
  }

  #cork(connection: FastConnection): net.Socket | undefined {
    const socket = this.#sockets[connection.id];
    if (socket === undefined || this.#corked.has(socket)) return socket;
    socket.cork();
    this.#corked.add(socket);
    if (!this.#uncorkQueued) {
      this.#uncorkQueued = true;
      process.nextTick(this.#flushSoon);
    }
    return socket;
  }

  readonly #flushSoon = (): void => this.flush();

  #release(id: number, socket: net.Socket): void {
    if (this.#sockets[id] !== socket) return;
    this.#sockets[id] = undefined;
    this.#free.push(id);
  }
}
