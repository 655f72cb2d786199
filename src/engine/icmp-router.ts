import type { SockshardError } from '../errors.js';
import { systemClock } from '../icmp/clock.js';
import { IcmpDemux, type IcmpDropReason, type RoutedKind, shardIdentifierRange } from '../icmp/demux.js';
import { formatIpv4 } from '../ip-address.js';
import {
  ICMP_PACKET_HEADER_BYTES,
  ICMP_SEND_DESTINATION,
  ICMP_SEND_HEADER_BYTES,
  RECORD_ICMP_PACKET,
  type ShardIcmpInit,
} from '../protocol.js';
import { createRing, RingConsumer, RingProducer } from '../ring/index.js';
import { IcmpSocket } from './icmp-socket.js';
import type { ResolvedIcmpListener } from './options.js';

/**
 * ICMP as the coordinator sees it: what the demultiplexer did, and the raw socket's sends.
 *
 * @example
 * ```ts
 * const icmp = engine.stats().icmp;
 * if (icmp !== undefined) console.log(icmp.received, icmp.routed.echoReply, icmp.dropped['own-request']);
 * ```
 */
export interface IcmpStats {
  /** Packets the raw socket received; each was routed to a shard or dropped. */
  readonly received: number;
  /** Packets routed to a shard, by kind. */
  readonly routed: Readonly<Record<RoutedKind, number>>;
  /** Packets no shard got, by reason (see IcmpDropReason). */
  readonly dropped: Readonly<Record<IcmpDropReason, number>>;
  /** Packets routed to each shard, by shard id. */
  readonly routedToShard: readonly number[];
  /** Packets for a shard whose ring was full: dropped. */
  readonly ringFull: number;
  /** Echo requests sent for the shards, and sends the kernel refused. */
  readonly sent: number;
  readonly sendErrors: number;
}

interface ShardLink {
  readonly init: ShardIcmpInit;
  readonly packets: RingProducer;
  readonly receivedAt: Float64Array;
  readonly sends: RingConsumer;
}

/**
 * The coordinator's ICMP: the one raw socket of the process (raw-socket loads in one thread only), the
 * demultiplexer that picks a shard for each received packet, and one pair of rings per shard: packets
 * out to the shard (stamped with their receive time), echo requests in from it. Coordinator thread only.
 */
export class IcmpRouter {
  readonly #socket: IcmpSocket;
  readonly #demux: IcmpDemux;
  readonly #links: ShardLink[] = [];
  readonly #addresses = new Map<number, string>();
  readonly #onError: (error: SockshardError) => void;
  #ringFull = 0;
  #sendErrors = 0;
  #closed = false;

  /**
   * Opens the raw socket first, so that without CAP_NET_RAW `engine.start()` fails (IcmpPermissionError)
   * before anything else has started.
   */
  constructor(
    listener: ResolvedIcmpListener,
    shards: number,
    udpPortOwner: (port: number) => number,
    onError: (error: SockshardError) => void,
  ) {
    this.#socket = IcmpSocket.open({ receiveBufferSize: listener.receiveBufferSize });
    this.#onError = onError;
    this.#demux = new IcmpDemux({ shards, identifierSpan: listener.identifierSpan, udpPortOwner });
    for (let shardId = 0; shardId < shards; shardId++) {
      const range = shardIdentifierRange(shardId, listener.identifierSpan);
      const init: ShardIcmpInit = {
        packets: createRing({ capacity: listener.ringBytes }),
        sends: createRing({ capacity: listener.ringBytes }),
        identifierStart: range.start,
        identifierEnd: range.end,
        ratePerSecond: Math.max(1, Math.floor(listener.ratePerSecond / shards)),
        listenerId: listener.handler === undefined ? -1 : listener.id,
      };
      const packets = new RingProducer(init.packets);
      const sends = new RingConsumer(init.sends);
      this.#links.push({
        init,
        packets,
        receivedAt: new Float64Array(packets.bytes.buffer, packets.bytes.byteOffset, packets.capacity >> 3),
        sends,
      });
    }
  }

  shardInit(shardId: number): ShardIcmpInit {
    return this.#links[shardId]!.init;
  }

  /** Starts routing received packets and sending the shards' requests. */
  start(): void {
    this.#socket.onError((error) => this.#onError(error as SockshardError));
    this.#socket.onPacket(this.#onPacket);
    for (const link of this.#links) void this.#pumpSends(link);
  }

  readonly #onPacket = (packet: Buffer): void => {
    // Stamped here, in one clock for every thread, so that the ring hop is not part of a round trip.
    const at = systemClock.now();
    const route = this.#demux.dispatch(packet);
    if (!route.ok) return;
    const link = this.#links[route.shard]!;
    const offset = link.packets.claim(ICMP_PACKET_HEADER_BYTES + packet.length, RECORD_ICMP_PACKET);
    if (offset < 0) {
      this.#ringFull++;
      return;
    }
    link.receivedAt[offset >> 3] = at;
    link.packets.bytes.set(packet, offset + ICMP_PACKET_HEADER_BYTES);
    link.packets.commit();
  };

  async #pumpSends(link: ShardLink): Promise<void> {
    const onSend = (bytes: Uint8Array, offset: number, length: number): void => {
      const destination = link.sends.words[(offset >> 2) + ICMP_SEND_DESTINATION]! >>> 0;
      let address = this.#addresses.get(destination);
      if (address === undefined) {
        address = formatIpv4(destination);
        if (this.#addresses.size < 4096) this.#addresses.set(destination, address);
      }
      try {
        this.#socket.sendNow(
          bytes,
          offset + ICMP_SEND_HEADER_BYTES,
          length - ICMP_SEND_HEADER_BYTES,
          address,
        );
      } catch {
        // EHOSTUNREACH, ENETUNREACH, ...: the probe times out in its shard; counted here.
        this.#sendErrors++;
      }
    };
    while (!this.#closed) {
      if (link.sends.drain(onSend) === 0) await link.sends.waitForData();
    }
  }

  stats(): IcmpStats {
    const counters = this.#demux.counters;
    return {
      received: counters.received,
      routed: { ...counters.routed },
      dropped: { ...counters.dropped },
      routedToShard: [...counters.routedToShard],
      ringFull: this.#ringFull,
      sent: this.#socket.counters.sent,
      sendErrors: this.#sendErrors + this.#socket.counters.sendErrors,
    };
  }

  close(): void {
    this.#closed = true;
    this.#socket.close();
  }
}
