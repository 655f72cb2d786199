import type { UdpContext, UdpPeer } from '../handler.js';
import { close as closeFd } from '../native/binding.js';
import { isPromise } from './is-promise.js';
import { UdpBatchedSocket } from './udp-batched-socket.js';
import type { UdpPort, UdpPortOptions } from './udp-port.js';

/** Receive slab per port: enough for a full batch of small datagrams, and a few of the largest. */
const SLAB_BUDGET = 1 << 20;
const MAX_BATCH = 64;
const MIN_BATCH = 4;

/**
 * One UDP socket served through the native batched path (`io: 'batched'`): recvmmsg lands a batch of
 * datagrams in a shared slab (`UdpBatchedSocket`), the handler sees each as a view into it, and replies
 * leave with one sendmmsg per batch. Same handler contract and counters as the node:dgram path
 * (udp-dgram-port.ts); counts are published to the port's counter line after every batch and every flush.
 */
export class UdpBatchedPort implements UdpPort {
  readonly port: number;
  readonly #socket: UdpBatchedSocket;
  readonly #options: UdpPortOptions;
  readonly #context: UdpContext;
  #handlerErrors = 0;

  /** Live at once: the socket's poll starts here. */
  constructor(options: UdpPortOptions) {
    this.port = options.port;
    this.#options = options;
    const { maxDatagram } = options.settings;
    const batch = Math.max(MIN_BATCH, Math.min(MAX_BATCH, Math.floor(SLAB_BUDGET / (maxDatagram + 8))));
    this.#socket = new UdpBatchedSocket(options.fd, this.#onDatagram, {
      maxDatagram,
      batch,
      onCounters: this.#publish,
      onError: (error) => options.reportFault(error),
    });
    this.#context = {
      ...options.context,
      port: options.port,
      reply: (peer, data) => this.#socket.reply(peer, data),
      send: (port, host, data) => this.#socket.send(port, host, data),
    };
  }

  readonly #onDatagram = (data: Uint8Array, peer: UdpPeer): void => {
    try {
      const result = this.#options.handler.message(data, peer, this.#context);
      if (isPromise(result)) result.catch(this.#handlerFailed);
    } catch (error) {
      this.#handlerFailed(error);
    }
  };

  readonly #handlerFailed = (error: unknown): void => {
    this.#handlerErrors++;
    this.#options.reportHandlerError(error);
  };

  readonly #publish = (socket: UdpBatchedSocket): void => {
    this.#options.counters.publish({
      datagramsIn: socket.datagramsIn + socket.oversized,
      bytesIn: socket.bytesIn,
      datagramsOut: socket.datagramsOut,
      bytesOut: socket.bytesOut,
      oversized: socket.oversized,
      handlerErrors: this.#handlerErrors,
      sendErrors: socket.sendErrors + socket.sendDropped + socket.icmpErrors,
    });
  };

  async close(): Promise<void> {
    this.#socket.close();
    this.#publish(this.#socket);
    // Unlike node:dgram, the batched socket leaves the fd to its owner.
    closeFd(this.#options.fd);
  }
}
