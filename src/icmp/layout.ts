/**
 * Wire layout of the IPv4 and ICMP headers that sockshard parses and builds. Shared by the coordinator
 * (which reads what its raw socket receives) and the shards (which build echo requests and read the packets
 * routed to them); nothing here touches a socket.
 *
 * A Linux AF_INET / SOCK_RAW / IPPROTO_ICMP socket hands every received datagram over WITH its IPv4 header
 * (raw(7)), so a received packet is parsed from its first byte as IPv4, and the ICMP message starts at
 * `IHL * 4`. Outgoing messages are written without an IP header: the kernel adds one (no IP_HDRINCL).
 *
 * IPv4 header (RFC 791), all fields big-endian:
 *
 * | offset | size | field                                                 |
 * |--------|------|-------------------------------------------------------|
 * | 0      | 1    | version (high nibble, 4) and IHL (low nibble, words)  |
 * | 1      | 1    | DSCP / ECN                                            |
 * | 2      | 2    | total length (header + payload, bytes)                |
 * | 4      | 2    | identification                                        |
 * | 6      | 2    | flags (bit 13 = MF) and fragment offset (13 bits)     |
 * | 8      | 1    | TTL                                                   |
 * | 9      | 1    | protocol (1 = ICMP, 6 = TCP, 17 = UDP)                |
 * | 10     | 2    | header checksum                                       |
 * | 12     | 4    | source address                                        |
 * | 16     | 4    | destination address                                   |
 * | 20     | 0-40 | options (when IHL > 5)                                |
 *
 * ICMP header (RFC 792), relative to the start of the ICMP message:
 *
 * | offset | size | echo request / reply (type 8 / 0) | unreachable (3) / time exceeded (11)      |
 * |--------|------|-----------------------------------|-------------------------------------------|
 * | 0      | 1    | type                              | type                                      |
 * | 1      | 1    | code                              | code                                      |
 * | 2      | 2    | checksum (over the ICMP message)  | checksum                                  |
 * | 4      | 2    | identifier                        | unused (RFC 4884: byte 5 = quote length)  |
 * | 6      | 2    | sequence number                   | unused; next-hop MTU for 3/4 (RFC 1191)   |
 * | 8      | n    | echo data                         | quoted IPv4 header + at least 8 bytes of  |
 * |        |      |                                   | the original datagram's payload           |
 *
 * The first 8 bytes of the quoted payload hold the UDP / TCP ports (source at 0, destination at 2) or, when
 * the original datagram was one of our echo requests, its ICMP header (identifier at 4, sequence at 6).
 */

export const IPV4_VERSION = 4;
export const IPV4_MIN_HEADER = 20;
/** IHL is 4 bits of 32-bit words: 15 words = 60 bytes at most. */
export const IPV4_MAX_HEADER = 60;
export const IPV4_MAX_PACKET = 65_535;

export const IP_VERSION_IHL = 0;
export const IP_TOTAL_LENGTH = 2;
export const IP_FLAGS_FRAGMENT = 6;
export const IP_TTL = 8;
export const IP_PROTOCOL = 9;
export const IP_CHECKSUM = 10;
export const IP_SOURCE = 12;
export const IP_DESTINATION = 16;

/** More-fragments flag and the 13-bit fragment offset inside the flags/fragment word. */
export const IP_MORE_FRAGMENTS = 0x2000;
export const IP_FRAGMENT_OFFSET_MASK = 0x1fff;

export const PROTOCOL_ICMP = 1;
export const PROTOCOL_TCP = 6;
export const PROTOCOL_UDP = 17;

export const ICMP_TYPE = 0;
export const ICMP_CODE = 1;
export const ICMP_CHECKSUM = 2;
export const ICMP_IDENTIFIER = 4;
export const ICMP_SEQUENCE = 6;
/** RFC 4884 "length" of the quoted datagram, in 32-bit words (0 when the sender does not use RFC 4884). */
export const ICMP_QUOTE_LENGTH = 5;
/** RFC 1191 next-hop MTU of "fragmentation needed" (type 3 code 4). */
export const ICMP_NEXT_HOP_MTU = 6;
export const ICMP_HEADER = 8;

/** Offsets inside the first 8 quoted bytes of the original datagram's payload. */
export const QUOTED_SOURCE_PORT = 0;
export const QUOTED_DESTINATION_PORT = 2;
/** The transport bytes an ICMP error must quote (RFC 792). */
export const QUOTED_TRANSPORT_BYTES = 8;

export const ICMP_ECHO_REPLY = 0;
export const ICMP_DESTINATION_UNREACHABLE = 3;
export const ICMP_ECHO_REQUEST = 8;
export const ICMP_TIME_EXCEEDED = 11;

/** Destination-unreachable codes (RFC 792, RFC 1122, RFC 1812). */
export const UNREACHABLE_NET = 0;
export const UNREACHABLE_HOST = 1;
export const UNREACHABLE_PROTOCOL = 2;
export const UNREACHABLE_PORT = 3;
export const UNREACHABLE_FRAGMENTATION_NEEDED = 4;
export const UNREACHABLE_ADMIN_PROHIBITED = 13;

/** Time-exceeded codes. */
export const TIME_EXCEEDED_TTL = 0;
export const TIME_EXCEEDED_REASSEMBLY = 1;

/** iputils' default: 56 data bytes, 64 ICMP bytes, 84 IP bytes. */
export const DEFAULT_ECHO_DATA = 56;
/** The largest echo data that fits one IPv4 datagram with a 20-byte header. */
export const MAX_ECHO_DATA = IPV4_MAX_PACKET - IPV4_MIN_HEADER - ICMP_HEADER;
export const MAX_IDENTIFIER = 0xffff;
export const SEQUENCE_SPACE = 0x10000;
