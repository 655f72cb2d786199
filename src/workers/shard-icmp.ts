import type { IcmpHandler, ShardContext } from '../handler.js';
import { echoRequestLength, writeEchoRequest } from '../icmp/echo-request.js';
import { PROTOCOL_UDP } from '../icmp/layout.js';
import { parseIcmp } from '../icmp/parse.js';
import type { PingOptions, PingResult } from '../icmp/ping-options.js';
import { type PingProbe, PingTracker } from '../icmp/ping-tracker.js';
import {
  ICMP_PACKET_HEADER_BYTES,
  ICMP_SEND_DESTINATION,
  ICMP_SEND_HEADER_BYTES,
  RECORD_ICMP_SEND,
  type ShardIcmpInit,
} from '../protocol.js';
import { RingConsumer, RingProducer } from '../ring/index.js';

export interface ShardIcmpEvents {
  /** An ICMP error about a datagram this shard's UDP port `port` sent (port unreachable and the like). */
  udpUnreachable(port: number): void;
  reportError(listenerId: number, error: unknown): void;
}

/**
 * A shard's end of ICMP: it reads the packets the coordinator routed to it (echo replies by this shard's
 * identifiers, errors by the quoted port of a socket this shard serves), feeds its ping tracker, counts
 * unreachable UDP peers and calls the ICMP handler; and it writes its echo requests into the ring that
 * the coordinator sends from (the raw socket exists only in the coordinator's thread).
 */
export class ShardIcmp {
  readonly #init: ShardIcmpInit;
  readonly #tracker: PingTracker;
  /** The ring ends are made at `start()` (see ShardMesh for why): until then, and after `close()`, sends wait. */
  #receivedAt: Float64Array = new Float64Array(0);
  #sends: RingProducer | undefined;
  readonly #events: ShardIcmpEvents;
  readonly #listenerId: number;
  #handler: IcmpHandler | undefined;
  #context: ShardContext | undefined;
  #closed = false;

  constructor(init: ShardIcmpInit, shardId: number, events: ShardIcmpEvents) {
    this.#init = init;
    this.#events = events;
    this.#listenerId = init.listenerId;
    this.#tracker = new PingTracker({
      identifierStart: init.identifierStart,
      identifierEnd: init.identifierEnd,
      ratePerSecond: init.ratePerSecond,
      shardId,
      send: this.#send,
    });
  }

  /** The handler of the engine's ICMP listener, once loaded. */
  setHandler(handler: IcmpHandler, context: ShardContext): void {
    this.#handler = handler;
    this.#context = context;
  }

  ping(host: string, options?: PingOptions): Promise<PingResult> {
    return this.#tracker.ping(host, options);
  }

  /** Attaches to the ICMP rings and starts taking packets; resolves once closed (rejects if the pump fails). */
  start(): Promise<void> {
    const packets = new RingConsumer(this.#init.packets);
    const inBytes = packets.bytes;
    this.#receivedAt = new Float64Array(inBytes.buffer, inBytes.byteOffset, inBytes.byteLength >> 3);
    this.#sends = new RingProducer(this.#init.sends);
    return this.#pump(packets);
  }

  close(): void {
    this.#closed = true;
    this.#tracker.close();
  }

  /**
   * Writes an echo request straight into the ring to the coordinator; false (retried later) when full, or
   * when this shard is not attached to the ring (not started yet, or closed).
   */
  readonly #send = (probe: PingProbe): boolean => {
    const sends = this.#sends;
    if (sends === undefined || this.#closed) return false;
    const length = ICMP_SEND_HEADER_BYTES + echoRequestLength(probe.size);
    const offset = sends.claim(length, RECORD_ICMP_SEND);
    if (offset < 0) return false;
    sends.words[(offset >> 2) + ICMP_SEND_DESTINATION] = probe.targetAddress | 0;
    writeEchoRequest(sends.bytes, offset + ICMP_SEND_HEADER_BYTES, probe);
    sends.commit();
    return true;
  };

  async #pump(packets: RingConsumer): Promise<void> {
    while (!this.#closed) {
      if (packets.drain(this.#onPacket) === 0) await packets.waitForData();
    }
  }

  readonly #onPacket = (bytes: Uint8Array, offset: number, length: number): void => {
    const at = this.#receivedAt[offset >> 3]!;
    // The coordinator parsed and checked this packet to route it: only the views are needed here.
    const parsed = parseIcmp(
      bytes,
      offset + ICMP_PACKET_HEADER_BYTES,
      length - ICMP_PACKET_HEADER_BYTES,
      false,
    );
    if (!parsed.ok) return;
    const packet = parsed.packet;
    const handler = this.#handler;
    const context = this.#context!;
    try {
      switch (packet.kind) {
        case 'echoReply':
          this.#tracker.handle(packet, at);
          handler?.echoReply?.(packet, context);
          break;
        case 'echoRequest':
          handler?.echoRequest?.(packet, context);
          break;
        case 'unreachable':
        case 'timeExceeded':
          this.#tracker.handle(packet, at);
          if (packet.quotedProtocol === PROTOCOL_UDP && packet.quotedSourcePort >= 0) {
            this.#events.udpUnreachable(packet.quotedSourcePort);
          }
          if (packet.kind === 'unreachable') handler?.unreachable?.(packet, context);
          else handler?.timeExceeded?.(packet, context);
          break;
        default:
          handler?.other?.(packet, context);
      }
    } catch (error) {
      this.#events.reportError(this.#listenerId, error);
    }
  };
}
