/**
 * A UDP port as a shard serves it, whichever path does the I/O: `UdpDgramPort` (node:dgram,
 * udp-dgram-port.ts) or `UdpBatchedPort` (native recvmmsg/sendmmsg, udp-batched-port.ts). The UDP
 * listener (udp-listener.ts) opens each port on the path its `io` setting names, and closes them on a drain.
 */
import type { UdpContext, UdpHandler } from '../handler.js';
import {
  UDP_BYTES_IN,
  UDP_BYTES_OUT,
  UDP_DATAGRAMS_IN,
  UDP_DATAGRAMS_OUT,
  UDP_HANDLER_ERRORS,
  UDP_OVERSIZED,
  UDP_PEER_UNREACHABLE,
  UDP_SEND_ERRORS,
  type UdpPortCounts,
  type UdpSettings,
} from '../protocol.js';

/** One UDP socket a shard serves, live from the moment it exists. */
export interface UdpPort {
  /** The local port. */
  readonly port: number;
  /** Stops serving and closes the socket's fd; the port's counters keep their last values. */
  close(): Promise<void>;
}

/** What a UDP port needs from its shard. */
export interface UdpPortOptions {
  /** The bound socket the coordinator handed over; the port owns it from now on. */
  readonly fd: number;
  readonly port: number;
  readonly settings: UdpSettings;
  readonly handler: UdpHandler;
  /** The listener's context; the port adds `port`, `reply` and `send`. */
  readonly context: Omit<UdpContext, 'port' | 'reply' | 'send'>;
  /** This (port, shard) pair's line of counters in shared memory. */
  readonly counters: UdpCounterLine;
  /** A handler's throw or rejection, to report (the port has counted it). */
  readonly reportHandlerError: (error: unknown) => void;
  /** A fault of the port itself (a receive error of the batched path), to report. */
  readonly reportFault: (error: unknown) => void;
}

/** Counts from zero, for a port to keep its own. */
export function emptyUdpCounts(): { -readonly [K in keyof UdpPortCounts]: number } {
  return {
    datagramsIn: 0,
    bytesIn: 0,
    datagramsOut: 0,
    bytesOut: 0,
    oversized: 0,
    handlerErrors: 0,
    sendErrors: 0,
  };
}

/**
 * One (port, shard) pair's line of UDP counters in shared memory (layout: UDP_* in protocol.ts). Both I/O
 * paths count the same way: the port keeps plain counts of its own and publishes them here with plain
 * stores (one writer: this shard), added to what an earlier incarnation of the shard left on the line, so
 * a restarted shard's port carries on from there. The coordinator reads the line at any time.
 */
export class UdpCounterLine {
  readonly #counters: Float64Array;
  readonly #base: number;
  readonly #start: Float64Array;

  constructor(counters: Float64Array, base: number) {
    this.#counters = counters;
    this.#base = base;
    this.#start = counters.slice(base, base + UDP_SEND_ERRORS + 1);
  }

  publish(counts: UdpPortCounts): void {
    const counters = this.#counters;
    const base = this.#base;
    const start = this.#start;
    counters[base + UDP_DATAGRAMS_IN] = start[UDP_DATAGRAMS_IN]! + counts.datagramsIn;
    counters[base + UDP_BYTES_IN] = start[UDP_BYTES_IN]! + counts.bytesIn;
    counters[base + UDP_DATAGRAMS_OUT] = start[UDP_DATAGRAMS_OUT]! + counts.datagramsOut;
    counters[base + UDP_BYTES_OUT] = start[UDP_BYTES_OUT]! + counts.bytesOut;
    counters[base + UDP_OVERSIZED] = start[UDP_OVERSIZED]! + counts.oversized;
    counters[base + UDP_HANDLER_ERRORS] = start[UDP_HANDLER_ERRORS]! + counts.handlerErrors;
    counters[base + UDP_SEND_ERRORS] = start[UDP_SEND_ERRORS]! + counts.sendErrors;
  }

  /** An ICMP error about a datagram this port sent reached this shard (it is not one of the port's counts). */
  peerUnreachable(): void {
    this.#counters[this.#base + UDP_PEER_UNREACHABLE]! += 1;
  }
}
