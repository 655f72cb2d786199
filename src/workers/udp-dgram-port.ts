import dgram from 'node:dgram';
import type { UdpContext, UdpPeer } from '../handler.js';
import { isPromise } from './is-promise.js';
import { emptyUdpCounts, type UdpPort, type UdpPortOptions } from './udp-port.js';

/** What a send to port 0 fails with (the kernel's EINVAL, without the syscall). */
const UNSENDABLE_PORT = new Error('port 0 cannot be sent to');

/**
 * One UDP socket served by a shard through `node:dgram` (`io: 'dgram'`): the coordinator created and bound
 * the socket, this shard adopts its fd (`bind({ fd })`), so datagrams go from the kernel straight to this
 * thread. Counts are published to the port's counter line as each event happens.
 */
export class UdpDgramPort implements UdpPort {
  readonly port: number;
  readonly #socket: dgram.Socket;
  readonly #options: UdpPortOptions;
  readonly #context: UdpContext;
  readonly #counts = emptyUdpCounts();

  /** Adopts the fd; resolves once the socket is live. */
  static async open(options: UdpPortOptions): Promise<UdpDgramPort> {
    const port = new UdpDgramPort(options);
    await port.#bind();
    return port;
  }

  private constructor(options: UdpPortOptions) {
    this.port = options.port;
    this.#options = options;
    const { settings } = options;
    this.#socket = dgram.createSocket({
      type: settings.family === 6 ? 'udp6' : 'udp4',
      ...(settings.recvBufferSize === undefined ? {} : { recvBufferSize: settings.recvBufferSize }),
      ...(settings.sendBufferSize === undefined ? {} : { sendBufferSize: settings.sendBufferSize }),
    });
    this.#context = {
      ...options.context,
      port: options.port,
      reply: (peer, data) => this.#send(peer.port, peer.address, data),
      send: (port, host, data) => this.#send(port, host, data),
    };
  }

  #bind(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#socket.once('error', reject);
      this.#socket.bind({ fd: this.#options.fd }, () => {
        this.#socket.off('error', reject);
        // An ICMP error queued on the socket surfaces as an 'error' event on some paths: count it, serve on.
        this.#socket.on('error', () => {
          this.#counts.sendErrors++;
          this.#publish();
        });
        this.#socket.on('message', this.#onMessage);
        resolve();
      });
    });
  }

  readonly #onMessage = (message: Buffer, remote: dgram.RemoteInfo): void => {
    const counts = this.#counts;
    counts.datagramsIn++;
    counts.bytesIn += message.length;
    if (message.length > this.#options.settings.maxDatagram) {
      counts.oversized++;
      this.#publish();
      return;
    }
    this.#publish();
    const peer: UdpPeer = {
      address: remote.address,
      port: remote.port,
      family: remote.family === 'IPv6' ? 6 : 4,
    };
    try {
      const result = this.#options.handler.message(message, peer, this.#context);
      if (isPromise(result)) result.catch(this.#handlerFailed);
    } catch (error) {
      this.#handlerFailed(error);
    }
  };

  readonly #handlerFailed = (error: unknown): void => {
    this.#counts.handlerErrors++;
    this.#publish();
    this.#options.reportHandlerError(error);
  };

  #send(port: number, address: string, data: Uint8Array): void {
    // Port 0 cannot be sent to (a datagram from source port 0 expects no reply, RFC 768), and node:dgram
    // throws a RangeError for it where the kernel would refuse the send: counted as the batched path
    // counts the kernel's refusal, never thrown at a handler replying to a peer the network gave it.
    if (port === 0) {
      this.#onSent(UNSENDABLE_PORT, 0);
      return;
    }
    this.#socket.send(data, port, address, this.#onSent);
  }

  readonly #onSent = (error: Error | null, bytes: number): void => {
    if (error !== null) {
      this.#counts.sendErrors++;
    } else {
      this.#counts.datagramsOut++;
      this.#counts.bytesOut += bytes;
    }
    this.#publish();
  };

  #publish(): void {
    this.#options.counters.publish(this.#counts);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      try {
        this.#socket.close(() => resolve());
      } catch {
        resolve(); // already closed
      }
    });
  }
}
