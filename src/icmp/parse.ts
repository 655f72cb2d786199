/**
 * The one entry point that turns received bytes into an ICMP view. It is total: whatever the bytes, it
 * returns a result and never throws, so that the coordinator can count and drop bad packets on its receive
 * path without a try/catch per packet. Failures are preallocated constants (a flood of garbage allocates
 * nothing).
 */

import { internetChecksum } from './checksum.js';
import { EchoPacket, IcmpErrorPacket, type IcmpPacket, OtherIcmpPacket } from './icmp-packet.js';
import {
  ICMP_DESTINATION_UNREACHABLE,
  ICMP_ECHO_REPLY,
  ICMP_ECHO_REQUEST,
  ICMP_HEADER,
  ICMP_TIME_EXCEEDED,
  ICMP_TYPE,
  IP_FLAGS_FRAGMENT,
  IP_FRAGMENT_OFFSET_MASK,
  IP_MORE_FRAGMENTS,
  IP_PROTOCOL,
  IP_TOTAL_LENGTH,
  IP_VERSION_IHL,
  IPV4_MIN_HEADER,
  IPV4_VERSION,
  PROTOCOL_ICMP,
} from './layout.js';

/**
 * Why a packet was refused:
 * - `bad-range`: `offset` / `length` do not describe bytes inside the array.
 * - `truncated`: shorter than its own headers or than its IPv4 total length says (raw-socket truncates
 *   silently to its receive buffer; the total length is how a cut packet is noticed).
 * - `bad-ip-header`: not version 4, IHL below 5, or a total length shorter than the header.
 * - `bad-ip-checksum` / `bad-checksum`: the IPv4 header / ICMP message does not sum to zero.
 * - `not-icmp`: the IPv4 protocol is not ICMP.
 * - `fragment`: a fragment (Linux reassembles before raw delivery, so only forged input gets here).
 * - `bad-quote`: an unreachable / time-exceeded message whose quoted IPv4 header is missing or invalid.
 */
export type IcmpParseFailure =
  | 'bad-range'
  | 'truncated'
  | 'bad-ip-header'
  | 'bad-ip-checksum'
  | 'not-icmp'
  | 'fragment'
  | 'bad-checksum'
  | 'bad-quote';

export const ICMP_PARSE_FAILURES: readonly IcmpParseFailure[] = [
  'bad-range',
  'truncated',
  'bad-ip-header',
  'bad-ip-checksum',
  'not-icmp',
  'fragment',
  'bad-checksum',
  'bad-quote',
];

export type IcmpParseResult =
  | { readonly ok: true; readonly packet: IcmpPacket }
  | { readonly ok: false; readonly reason: IcmpParseFailure };

const FAILED = Object.fromEntries(
  ICMP_PARSE_FAILURES.map((reason) => [reason, Object.freeze({ ok: false as const, reason })]),
) as { readonly [R in IcmpParseFailure]: { readonly ok: false; readonly reason: R } };

const IHL_MASK = 0x0f;
const VERSION_SHIFT = 4;
const WORD = 4;

/**
 * Parses the IPv4 datagram of `length` bytes at `offset` in `bytes` (what an AF_INET raw ICMP socket
 * receives: IPv4 header first). The result's view reads from `bytes` and is valid only while they are.
 */
/**
 * `verifyChecksums: false` is for a packet that was already parsed (and checked) once: the coordinator
 * verifies both checksums when it routes a packet, so a shard reading it from its ring need not again.
 */
export function parseIcmp(
  bytes: Uint8Array,
  offset = 0,
  length = bytes.length - offset,
  verifyChecksums = true,
): IcmpParseResult {
  if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0) {
    return FAILED['bad-range'];
  }
  if (offset + length > bytes.length) return FAILED['bad-range'];
  if (length < IPV4_MIN_HEADER) return FAILED.truncated;

  const versionIhl = bytes[offset + IP_VERSION_IHL]!;
  const headerLength = (versionIhl & IHL_MASK) * WORD;
  if (versionIhl >>> VERSION_SHIFT !== IPV4_VERSION || headerLength < IPV4_MIN_HEADER) {
    return FAILED['bad-ip-header'];
  }
  if (headerLength > length) return FAILED.truncated;
  const totalLength = (bytes[offset + IP_TOTAL_LENGTH]! << 8) | bytes[offset + IP_TOTAL_LENGTH + 1]!;
  if (totalLength < headerLength) return FAILED['bad-ip-header'];
  // Bytes past the total length (link padding) are ignored; fewer bytes mean the receive buffer cut it.
  if (totalLength > length) return FAILED.truncated;
  if (verifyChecksums && internetChecksum(bytes, offset, headerLength) !== 0)
    return FAILED['bad-ip-checksum'];
  if (bytes[offset + IP_PROTOCOL] !== PROTOCOL_ICMP) return FAILED['not-icmp'];
  const fragment = (bytes[offset + IP_FLAGS_FRAGMENT]! << 8) | bytes[offset + IP_FLAGS_FRAGMENT + 1]!;
  if ((fragment & (IP_MORE_FRAGMENTS | IP_FRAGMENT_OFFSET_MASK)) !== 0) return FAILED.fragment;

  const icmpOffset = offset + headerLength;
  const end = offset + totalLength;
  if (end - icmpOffset < ICMP_HEADER) return FAILED.truncated;
  if (verifyChecksums && internetChecksum(bytes, icmpOffset, end - icmpOffset) !== 0) {
    return FAILED['bad-checksum'];
  }

  const type = bytes[icmpOffset + ICMP_TYPE]!;
  if (type === ICMP_ECHO_REPLY || type === ICMP_ECHO_REQUEST) {
    return { ok: true, packet: new EchoPacket(bytes, offset, icmpOffset, end) };
  }
  if (type === ICMP_DESTINATION_UNREACHABLE || type === ICMP_TIME_EXCEEDED) {
    const quotedPayload = quotedPayloadOffset(bytes, icmpOffset + ICMP_HEADER, end);
    if (quotedPayload < 0) return FAILED['bad-quote'];
    const kind = type === ICMP_DESTINATION_UNREACHABLE ? 'unreachable' : 'timeExceeded';
    return { ok: true, packet: new IcmpErrorPacket(kind, bytes, offset, icmpOffset, end, quotedPayload) };
  }
  return { ok: true, packet: new OtherIcmpPacket(bytes, offset, icmpOffset, end) };
}

/**
 * Where the quoted datagram's payload starts, or -1 when the quote is not a whole IPv4 header. The quoted
 * total length is the original datagram's, not the quote's, so it is not checked against `end`; nor is the
 * quoted header checksum: NAT devices rewrite quoted addresses and do not all fix it, so it proves nothing.
 */
function quotedPayloadOffset(bytes: Uint8Array, quote: number, end: number): number {
  if (end - quote < IPV4_MIN_HEADER) return -1;
  const versionIhl = bytes[quote + IP_VERSION_IHL]!;
  const headerLength = (versionIhl & IHL_MASK) * WORD;
  if (versionIhl >>> VERSION_SHIFT !== IPV4_VERSION || headerLength < IPV4_MIN_HEADER) return -1;
  if (quote + headerLength > end) return -1;
  return quote + headerLength;
}
