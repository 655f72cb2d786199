import dgram from 'node:dgram';

/** How long `stop()` waits for the replies still on their way before it counts the rest as lost. */
const SETTLE_MS = 2_000;

/**
 * A steady UDP echo load for deploy tests: one numbered datagram every `intervalMs` to a udp-echo.ts
 * port, each reply matched by its number, so that `stop()` can say how many were never answered.
 */
export class UdpEchoLoad {
  readonly #socket: dgram.Socket;
  readonly #answered = new Set<number>();
  readonly #timer: NodeJS.Timeout;
  #sent = 0;

  private constructor(socket: dgram.Socket, port: number, intervalMs: number) {
    this.#socket = socket;
    socket.on('message', (reply) => {
      // udp-echo.ts answers with the serving shard's id, then the datagram.
      this.#answered.add(Number(reply.subarray(1).toString()));
    });
    this.#timer = setInterval(() => socket.send(String(this.#sent++), port, '127.0.0.1'), intervalMs);
  }

  static async start(port: number, intervalMs: number): Promise<UdpEchoLoad> {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    return new UdpEchoLoad(socket, port, intervalMs);
  }

  /** Stops sending, waits for the last replies, closes, and counts. */
  async stop(): Promise<{ sent: number; lost: number }> {
    clearInterval(this.#timer);
    const deadline = Date.now() + SETTLE_MS;
    while (this.#answered.size < this.#sent && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await new Promise<void>((resolve) => this.#socket.close(() => resolve()));
    return { sent: this.#sent, lost: this.#sent - this.#answered.size };
  }
}
