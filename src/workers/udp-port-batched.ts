import type { UdpContext, UdpPeer } from '../handler.js';
import { close as closeFd } from '../native/binding.js';
import {
  UDP_BYTES_IN,
  UDP_BYTES_OUT,
  UDP_DATAGRAMS_IN,
  UDP_DATAGRAMS_OUT,
  UDP_HANDLER_ERRORS,
  UDP_OVERSIZED,
  UDP_SEND_ERRORS,
} from '../protocol.js';
import { isPromise } from './is-promise.js';
import { BatchedUdpPort } from './udp-batched-port.js';
import type { UdpPortOptions } from './udp-port.js';

/** Receive slab per port: enough for a full batch of small datagrams, and a few of the largest. */
const SLAB_BUDGET = 1 << 20;
const MAX_BATCH = 64;
const MIN_BATCH = 4;

/**
 * One UDP socket served through the native batched path (`io: 'batched'`): recvmmsg lands a batch of
 * datagrams in a shared slab, the handler sees each as a view into it, and replies leave with one
 * sendmmsg per batch. Same handler contract and counters as the node:dgram path (`udp-port.ts`).
 */
export class BatchedUdpService {
  readonly port: number;
  readonly #socket: BatchedUdpPort;
  readonly #options: UdpPortOptions;
  readonly #context: UdpContext;
  /** The counters as this port found them: a restarted shard's port carries on from there. */
  readonly #start: Float64Array;

  constructor(options: UdpPortOptions) {
    this.port = options.port;
    this.#options = options;
    this.#start = options.counters.slice(options.base, options.base + UDP_SEND_ERRORS + 1);
    const { maxDatagram } = options.settings;
    const batch = Math.max(MIN_BATCH, Math.min(MAX_BATCH, Math.floor(SLAB_BUDGET / (maxDatagram + 8))));
    this.#socket = new BatchedUdpPort(options.fd, this.#onDatagram, {
      maxDatagram,
      batch,
      onCounters: this.#publish,
      onError: (error) => options.reportError(error),
    });
    this.#context = {
      ...options.context,
      port: options.port,
      reply: (peer, data) => this.#socket.reply(peer, data),
      send: (port, host, data) => this.#socket.send(host, port, data),
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

  #handlerErrors = 0;
  readonly #handlerFailed = (error: unknown): void => {
    this.#handlerErrors++;
    this.#options.reportError(error);
  };

  /** Copies the port's counters to its line of shared memory (one writer: this shard). */
  readonly #publish = (socket: BatchedUdpPort): void => {
    const { counters, base } = this.#options;
    const start = this.#start;
    counters[base + UDP_DATAGRAMS_IN] = start[UDP_DATAGRAMS_IN]! + socket.datagramsIn + socket.oversized;
    counters[base + UDP_BYTES_IN] = start[UDP_BYTES_IN]! + socket.bytesIn;
    counters[base + UDP_DATAGRAMS_OUT] = start[UDP_DATAGRAMS_OUT]! + socket.datagramsOut;
    counters[base + UDP_BYTES_OUT] = start[UDP_BYTES_OUT]! + socket.bytesOut;
    counters[base + UDP_OVERSIZED] = start[UDP_OVERSIZED]! + socket.oversized;
    counters[base + UDP_HANDLER_ERRORS] = start[UDP_HANDLER_ERRORS]! + this.#handlerErrors;
    counters[base + UDP_SEND_ERRORS] =
      start[UDP_SEND_ERRORS]! + socket.sendErrors + socket.sendDropped + socket.icmpErrors;
  };

  /** Live from construction (the poll starts at once); here for the same shape as the dgram port. */
  async open(): Promise<void> {}

  async close(): Promise<void> {
    this.#socket.close();
    this.#publish(this.#socket);
    // Unlike node:dgram, the batched port leaves the fd to its owner.
    closeFd(this.#options.fd);
  }
}
