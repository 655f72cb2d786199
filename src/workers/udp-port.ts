import dgram from 'node:dgram';
import type { UdpContext, UdpHandler, UdpPeer } from '../handler.js';
import {
  UDP_BYTES_IN,
  UDP_BYTES_OUT,
  UDP_DATAGRAMS_IN,
  UDP_DATAGRAMS_OUT,
  UDP_HANDLER_ERRORS,
  UDP_OVERSIZED,
  UDP_SEND_ERRORS,
  type UdpSettings,
} from '../protocol.js';
import { isPromise } from './is-promise.js';

/** What a UDP port needs from its shard. */
export interface UdpPortOptions {
  readonly fd: number;
  readonly port: number;
  readonly settings: UdpSettings;
  readonly handler: UdpHandler;
  /** The listener's context; the port adds `port`, `reply` and `send`. */
  readonly context: Omit<UdpContext, 'port' | 'reply' | 'send'>;
  /** This (port, shard) pair's counter line. */
  readonly counters: Float64Array;
  readonly base: number;
  readonly reportError: (error: unknown) => void;
}

/**
 * One UDP socket served by a shard through `node:dgram`: the coordinator created and bound the socket,
 * this shard adopts its fd (`bind({ fd })`), so datagrams go from the kernel straight to this thread.
 * Counters are plain stores on this (port, shard) pair's own line of shared memory: one writer.
 */
export class DgramUdpPort {
  readonly port: number;
  readonly #socket: dgram.Socket;
  readonly #options: UdpPortOptions;
  readonly #context: UdpContext;

  constructor(options: UdpPortOptions) {
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
      reply: (peer, data) => this.#send(data, peer.port, peer.address),
      send: (port, host, data) => this.#send(data, port, host),
    };
  }

  /** Adopts the fd; resolves once the socket is live. */
  open(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#socket.once('error', reject);
      this.#socket.bind({ fd: this.#options.fd }, () => {
        this.#socket.off('error', reject);
        // An ICMP error queued on the socket surfaces as an 'error' event on some paths: count it, serve on.
        this.#socket.on('error', () => this.#bump(UDP_SEND_ERRORS, 1));
        this.#socket.on('message', this.#onMessage);
        resolve();
      });
    });
  }

  readonly #onMessage = (message: Buffer, remote: dgram.RemoteInfo): void => {
    const { counters, base, settings, handler } = this.#options;
    counters[base + UDP_DATAGRAMS_IN] += 1;
    counters[base + UDP_BYTES_IN] += message.length;
    if (message.length > settings.maxDatagram) {
      counters[base + UDP_OVERSIZED] += 1;
      return;
    }
    const peer: UdpPeer = {
      address: remote.address,
      port: remote.port,
      family: remote.family === 'IPv6' ? 6 : 4,
    };
    try {
      const result = handler.message(message, peer, this.#context);
      if (isPromise(result)) result.catch(this.#handlerFailed);
    } catch (error) {
      this.#handlerFailed(error);
    }
  };

  readonly #handlerFailed = (error: unknown): void => {
    this.#bump(UDP_HANDLER_ERRORS, 1);
    this.#options.reportError(error);
  };

  #send(data: Uint8Array, port: number, address: string): void {
    this.#socket.send(data, port, address, this.#onSent);
  }

  readonly #onSent = (error: Error | null, bytes: number): void => {
    if (error !== null) {
      this.#bump(UDP_SEND_ERRORS, 1);
      return;
    }
    this.#bump(UDP_DATAGRAMS_OUT, 1);
    this.#bump(UDP_BYTES_OUT, bytes);
  };

  #bump(counter: number, amount: number): void {
    this.#options.counters[this.#options.base + counter] += amount;
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
