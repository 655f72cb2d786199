/**
 * Zero-copy views of one received IPv4 ICMP packet. A view holds the caller's bytes and the offsets that
 * `parseIcmp` validated, and reads every field on demand: nothing is copied, and the dotted-quad strings are
 * built only when asked for (once). Because the bytes are not copied, a view is valid only while they are:
 * raw-socket reuses one receive buffer for every packet, and a ring record is valid until `release()`.
 *
 * Only `parseIcmp` constructs these, after checking that every offset a getter uses lies inside the packet,
 * so no getter can read out of range.
 */

import { formatIpv4, readIpv4 } from '../ip-address.js';
import {
  ICMP_CHECKSUM,
  ICMP_CODE,
  ICMP_ECHO_REQUEST,
  ICMP_HEADER,
  ICMP_IDENTIFIER,
  ICMP_NEXT_HOP_MTU,
  ICMP_SEQUENCE,
  ICMP_TYPE,
  IP_DESTINATION,
  IP_FLAGS_FRAGMENT,
  IP_FRAGMENT_OFFSET_MASK,
  IP_PROTOCOL,
  IP_SOURCE,
  IP_TTL,
  PROTOCOL_ICMP,
  PROTOCOL_TCP,
  PROTOCOL_UDP,
  QUOTED_DESTINATION_PORT,
  QUOTED_SOURCE_PORT,
  QUOTED_TRANSPORT_BYTES,
  UNREACHABLE_FRAGMENTATION_NEEDED,
} from './layout.js';

/**
 * What an ICMP packet is: its `kind`, by type.
 *
 * @example
 * ```ts
 * import { defineIcmpHandler } from 'sockshard';
 * export default defineIcmpHandler({
 *   other(packet) {
 *     console.log(packet.kind, packet.type, packet.code); // 'other', e.g. 5 (redirect), 1
 *   },
 * });
 * ```
 */
export type IcmpKind = 'echoReply' | 'echoRequest' | 'unreachable' | 'timeExceeded' | 'other';

/** Transport bytes needed to read both ports of a quoted UDP or TCP header. */
const QUOTED_PORT_BYTES = 4;

function u16(bytes: Uint8Array, offset: number): number {
  return (bytes[offset]! << 8) | bytes[offset + 1]!;
}

/** What every kind has: the IPv4 header's fields and the ICMP type, code and checksum. */
abstract class IcmpView {
  abstract readonly kind: IcmpKind;
  /** The bytes the packet was parsed from (not a copy). */
  readonly bytes: Uint8Array;
  /** Where the IPv4 header starts in `bytes`. */
  readonly ipOffset: number;
  /** Where the ICMP message starts in `bytes` (`ipOffset + IHL * 4`). */
  readonly icmpOffset: number;
  /** Where the datagram ends in `bytes` (`ipOffset + total length`). */
  readonly end: number;
  #source: string | undefined;
  #destination: string | undefined;

  constructor(bytes: Uint8Array, ipOffset: number, icmpOffset: number, end: number) {
    this.bytes = bytes;
    this.ipOffset = ipOffset;
    this.icmpOffset = icmpOffset;
    this.end = end;
  }

  get type(): number {
    return this.bytes[this.icmpOffset + ICMP_TYPE]!;
  }

  get code(): number {
    return this.bytes[this.icmpOffset + ICMP_CODE]!;
  }

  get checksum(): number {
    return u16(this.bytes, this.icmpOffset + ICMP_CHECKSUM);
  }

  get ttl(): number {
    return this.bytes[this.ipOffset + IP_TTL]!;
  }

  /** The IPv4 source as an unsigned 32-bit number (cheap; use it for comparisons and keys). */
  get sourceAddress(): number {
    return readIpv4(this.bytes, this.ipOffset + IP_SOURCE);
  }

  /** The IPv4 source as a dotted quad, built on first use. */
  get source(): string {
    this.#source ??= formatIpv4(this.sourceAddress);
    return this.#source;
  }

  get destinationAddress(): number {
    return readIpv4(this.bytes, this.ipOffset + IP_DESTINATION);
  }

  get destination(): string {
    this.#destination ??= formatIpv4(this.destinationAddress);
    return this.#destination;
  }

  /** Length of the whole datagram (IPv4 header included). */
  get length(): number {
    return this.end - this.ipOffset;
  }

  /** Length of the ICMP message (header and data). */
  get icmpLength(): number {
    return this.end - this.icmpOffset;
  }

  /** The ICMP message as a view of the same memory. */
  icmp(): Uint8Array {
    return this.bytes.subarray(this.icmpOffset, this.end);
  }
}

/**
 * Echo request (type 8) or echo reply (type 0).
 *
 * @example
 * ```ts
 * import { defineIcmpHandler } from 'sockshard';
 * export default defineIcmpHandler({
 *   echoRequest(packet) {
 *     console.log(`${packet.source} pings us: id ${packet.identifier}, ${packet.dataLength} data bytes`);
 *   },
 * });
 * ```
 */
export class EchoPacket extends IcmpView {
  readonly kind: 'echoRequest' | 'echoReply';

  constructor(bytes: Uint8Array, ipOffset: number, icmpOffset: number, end: number) {
    super(bytes, ipOffset, icmpOffset, end);
    this.kind = bytes[icmpOffset + ICMP_TYPE] === ICMP_ECHO_REQUEST ? 'echoRequest' : 'echoReply';
  }

  get identifier(): number {
    return u16(this.bytes, this.icmpOffset + ICMP_IDENTIFIER);
  }

  get sequence(): number {
    return u16(this.bytes, this.icmpOffset + ICMP_SEQUENCE);
  }

  /** Where the echo data starts in `bytes`. */
  get dataOffset(): number {
    return this.icmpOffset + ICMP_HEADER;
  }

  get dataLength(): number {
    return this.end - this.icmpOffset - ICMP_HEADER;
  }

  /** The echo data as a view of the same memory. */
  get data(): Uint8Array {
    return this.bytes.subarray(this.icmpOffset + ICMP_HEADER, this.end);
  }
}

/**
 * Destination unreachable (type 3) or time exceeded (type 11): the header of the datagram that failed, and
 * the first bytes of its payload, which name the UDP / TCP ports or the echo identifier it carried.
 *
 * @example
 * ```ts
 * import { defineIcmpHandler } from 'sockshard';
 * export default defineIcmpHandler({
 *   timeExceeded(packet) {
 *     console.log(`${packet.source}: TTL ran out for a packet to ${packet.quotedDestination}`);
 *   },
 * });
 * ```
 */
export class IcmpErrorPacket extends IcmpView {
  readonly kind: 'unreachable' | 'timeExceeded';
  /** Where the quoted IPv4 header starts in `bytes`. */
  readonly quoteOffset: number;
  /** Where the quoted datagram's payload (its UDP / TCP / ICMP header) starts in `bytes`. */
  readonly quotedPayloadOffset: number;

  constructor(
    kind: 'unreachable' | 'timeExceeded',
    bytes: Uint8Array,
    ipOffset: number,
    icmpOffset: number,
    end: number,
    quotedPayloadOffset: number,
  ) {
    super(bytes, ipOffset, icmpOffset, end);
    this.kind = kind;
    this.quoteOffset = icmpOffset + ICMP_HEADER;
    this.quotedPayloadOffset = quotedPayloadOffset;
  }

  /** Protocol of the datagram that failed (17 UDP, 6 TCP, 1 ICMP). */
  get quotedProtocol(): number {
    return this.bytes[this.quoteOffset + IP_PROTOCOL]!;
  }

  get quotedSourceAddress(): number {
    return readIpv4(this.bytes, this.quoteOffset + IP_SOURCE);
  }

  get quotedSource(): string {
    return formatIpv4(this.quotedSourceAddress);
  }

  get quotedDestinationAddress(): number {
    return readIpv4(this.bytes, this.quoteOffset + IP_DESTINATION);
  }

  get quotedDestination(): string {
    return formatIpv4(this.quotedDestinationAddress);
  }

  /** How many bytes of the failed datagram's payload were quoted (RFC 792 asks for at least 8). */
  get quotedPayloadLength(): number {
    return this.end - this.quotedPayloadOffset;
  }

  /** Source port of the failed UDP / TCP datagram (our side), or -1 when the quote does not carry one. */
  get quotedSourcePort(): number {
    return this.#hasPorts() ? u16(this.bytes, this.quotedPayloadOffset + QUOTED_SOURCE_PORT) : -1;
  }

  /** Destination port of the failed UDP / TCP datagram (the peer's), or -1. */
  get quotedDestinationPort(): number {
    return this.#hasPorts() ? u16(this.bytes, this.quotedPayloadOffset + QUOTED_DESTINATION_PORT) : -1;
  }

  /** Identifier of the echo request that failed, or -1 when the quote is not an echo request. */
  get quotedEchoIdentifier(): number {
    return this.#isQuotedEcho() ? u16(this.bytes, this.quotedPayloadOffset + ICMP_IDENTIFIER) : -1;
  }

  /** Sequence number of the echo request that failed, or -1. */
  get quotedEchoSequence(): number {
    return this.#isQuotedEcho() ? u16(this.bytes, this.quotedPayloadOffset + ICMP_SEQUENCE) : -1;
  }

  /** RFC 1191 next-hop MTU of "fragmentation needed" (type 3 code 4); 0 otherwise or when not given. */
  get nextHopMtu(): number {
    return this.kind === 'unreachable' && this.code === UNREACHABLE_FRAGMENTATION_NEEDED
      ? u16(this.bytes, this.icmpOffset + ICMP_NEXT_HOP_MTU)
      : 0;
  }

  /** A non-first fragment's payload starts mid-datagram: its first bytes are not a transport header. */
  #firstFragment(): boolean {
    return (u16(this.bytes, this.quoteOffset + IP_FLAGS_FRAGMENT) & IP_FRAGMENT_OFFSET_MASK) === 0;
  }

  #hasPorts(): boolean {
    const protocol = this.quotedProtocol;
    return (
      (protocol === PROTOCOL_UDP || protocol === PROTOCOL_TCP) &&
      this.quotedPayloadLength >= QUOTED_PORT_BYTES &&
      this.#firstFragment()
    );
  }

  #isQuotedEcho(): boolean {
    return (
      this.quotedProtocol === PROTOCOL_ICMP &&
      this.quotedPayloadLength >= QUOTED_TRANSPORT_BYTES &&
      this.bytes[this.quotedPayloadOffset + ICMP_TYPE] === ICMP_ECHO_REQUEST &&
      this.#firstFragment()
    );
  }
}

/**
 * Any other well-formed ICMP message (timestamp, redirect, parameter problem, ...).
 *
 * @example
 * ```ts
 * import { defineIcmpHandler } from 'sockshard';
 * export default defineIcmpHandler({
 *   other(packet) {
 *     if (packet.type === 5) console.log(`redirect from ${packet.source}`);
 *   },
 * });
 * ```
 */
export class OtherIcmpPacket extends IcmpView {
  readonly kind = 'other' as const;
}

/**
 *
 * @example
 * ```ts
 * import { defineIcmpHandler, type IcmpPacket } from 'sockshard';
 * const log = (packet: IcmpPacket) => console.log(packet.kind, packet.source);
 * export default defineIcmpHandler({ echoReply: log, unreachable: log, other: log });
 * ```
 */
export type IcmpPacket = EchoPacket | IcmpErrorPacket | OtherIcmpPacket;
