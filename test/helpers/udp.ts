import dgram from 'node:dgram';

/** A UDP client that collects replies; `request` sends and waits for the next `count` replies. */
export class UdpClient {
  readonly socket: dgram.Socket;
  readonly #queue: Buffer[] = [];
  #waiter: (() => void) | undefined;

  private constructor(socket: dgram.Socket) {
    this.socket = socket;
    socket.on('message', (message) => {
      this.#queue.push(message);
      this.#waiter?.();
    });
  }

  static async open(family: 4 | 6 = 4): Promise<UdpClient> {
    const socket = dgram.createSocket(family === 6 ? 'udp6' : 'udp4');
    await new Promise<void>((resolve) => socket.bind(0, family === 6 ? '::1' : '127.0.0.1', resolve));
    return new UdpClient(socket);
  }

  send(data: Uint8Array | string, port: number, host = '127.0.0.1'): void {
    this.socket.send(data, port, host);
  }

  /** Resolves with the next `count` datagrams, or rejects after `timeoutMs`. */
  async receive(count: number, timeoutMs = 5_000): Promise<Buffer[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.#queue.length < count) {
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`received ${this.#queue.length} of ${count} datagrams in ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    return this.#queue.splice(0, count);
  }

  /** True when nothing arrives within `ms`. */
  async silentFor(ms: number): Promise<boolean> {
    await new Promise((resolve) => setTimeout(resolve, ms));
    return this.#queue.length === 0;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}
