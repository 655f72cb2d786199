/**
 * The coordinator's ICMP demultiplexer: for every packet its raw socket receives, which shard gets it, or
 * why nobody does. ICMP has no ports, so sockshard gives it some (DESIGN.md, "Sharding rules"):
 *
 * - echo reply / echo request: by identifier, as Linux ping sockets do. Shard s owns the identifiers
 *   `[base + s * span, base + (s + 1) * span)` and allocates its probes' identifiers from that range only.
 * - destination unreachable / time exceeded: by the quoted datagram. A quoted UDP (or TCP) header names our
 *   source port, and the shard that owns that port hears that its peer is unreachable; a quoted echo
 *   request names its identifier, and goes to the shard whose probe failed.
 *
 * A raw socket sees every ICMP packet the host receives, and on loopback that includes our own outgoing echo
 * requests: an echo request whose identifier is in our ranges and whose source is one of this host's
 * addresses is ours, and is dropped as `own-request` (the kernel, not a shard, answers echo requests).
 *
 * `dispatch` is total: any bytes and any routing callbacks (which are user code, and may throw) give a
 * decision, never an exception, and every packet lands in exactly one counter, so
 * `received === sum(routed) === sum(routedToShard)` plus `sum(dropped)` at all times.
 */

import { InvalidOptionError } from '../errors.js';
import { isLoopbackIpv4 } from '../ip-address.js';
import { checkInteger } from '../validate.js';
import type { IcmpPacket } from './icmp-packet.js';
import { MAX_IDENTIFIER, PROTOCOL_UDP } from './layout.js';
import { ICMP_PARSE_FAILURES, type IcmpParseFailure, parseIcmp } from './parse.js';

/** The kinds that can be routed to a shard. */
export type RoutedKind = 'echoReply' | 'echoRequest' | 'unreachable' | 'timeExceeded';
export const ROUTED_KINDS: readonly RoutedKind[] = [
  'echoReply',
  'echoRequest',
  'unreachable',
  'timeExceeded',
];

/**
 * Why the demultiplexer dropped a packet: a parse failure (see `IcmpParseFailure`), or
 * - `own-request`: one of our own echo requests, looped back;
 * - `foreign-request`: another host's echo request, when `dropForeignRequests` is set (the kernel answers
 *   it anyway; by default it is routed by identifier like any echo);
 * - `unowned-identifier`: an echo whose identifier is in no shard's range;
 * - `unowned-port`: an error quoting a UDP / TCP source port that no shard owns;
 * - `unroutable-quote`: an error whose quote carries neither ports nor an echo request;
 * - `other-kind`: a kind no shard asks for (timestamp, redirect, parameter problem, ...);
 * - `route-error`: a port-owner callback threw or returned something that is not a shard;
 * - `internal-error`: anything else that threw (a bug; counted rather than thrown on the receive path).
 */
export type IcmpDropReason =
  | IcmpParseFailure
  | 'own-request'
  | 'foreign-request'
  | 'unowned-identifier'
  | 'unowned-port'
  | 'unroutable-quote'
  | 'other-kind'
  | 'route-error'
  | 'internal-error';

export const ICMP_DROP_REASONS: readonly IcmpDropReason[] = [
  ...ICMP_PARSE_FAILURES,
  'own-request',
  'foreign-request',
  'unowned-identifier',
  'unowned-port',
  'unroutable-quote',
  'other-kind',
  'route-error',
  'internal-error',
];

export interface IcmpRoutes {
  /** Number of shards (1 or more). */
  readonly shards: number;
  /** Identifiers per shard; `shards * identifierSpan` must fit in 16 bits after `identifierBase`. */
  readonly identifierSpan: number;
  /** First identifier of shard 0 (default 0). */
  readonly identifierBase?: number;
  /** The shard that owns local UDP port `port`, or -1. */
  readonly udpPortOwner: (port: number) => number;
  /** The shard that owns local TCP port `port`, or -1 (default: none). */
  readonly tcpPortOwner?: (port: number) => number;
  /** Whether an IPv4 address (unsigned 32-bit) is one of this host's (default: 127.0.0.0/8). */
  readonly isLocalAddress?: (address: number) => boolean;
  /**
   * Drop echo requests from other hosts instead of routing them by identifier (default false). Shards that
   * only ping have no use for them, and a ping flood aimed at this host then stops at the coordinator.
   */
  readonly dropForeignRequests?: boolean;
}

export type IcmpRoute =
  | { readonly ok: true; readonly shard: number; readonly packet: IcmpPacket }
  | { readonly ok: false; readonly reason: IcmpDropReason };

export interface IcmpDemuxCounters {
  received: number;
  readonly routed: Record<RoutedKind, number>;
  readonly dropped: Record<IcmpDropReason, number>;
  /** Packets routed to each shard, by shard id. */
  readonly routedToShard: number[];
}

/** The identifier range `[start, end)` that shard `shardId` allocates from. */
export function shardIdentifierRange(
  shardId: number,
  identifierSpan: number,
  identifierBase = 0,
): { readonly start: number; readonly end: number } {
  const start = identifierBase + shardId * identifierSpan;
  return { start, end: start + identifierSpan };
}

/** The widest equal span for `shards` shards: every identifier owned by some shard. */
export function defaultIdentifierSpan(shards: number): number {
  return Math.floor((MAX_IDENTIFIER + 1) / shards);
}

const DROPPED = Object.fromEntries(
  ICMP_DROP_REASONS.map((reason) => [reason, Object.freeze({ ok: false as const, reason })]),
) as { readonly [R in IcmpDropReason]: { readonly ok: false; readonly reason: R } };

export class IcmpDemux {
  readonly counters: IcmpDemuxCounters;
  readonly #shards: number;
  readonly #span: number;
  readonly #base: number;
  readonly #udpPortOwner: (port: number) => number;
  readonly #tcpPortOwner: ((port: number) => number) | undefined;
  readonly #isLocal: (address: number) => boolean;
  readonly #dropForeignRequests: boolean;

  constructor(routes: IcmpRoutes) {
    const { shards, identifierSpan, identifierBase = 0 } = routes;
    checkInteger('shards', shards, 1, MAX_IDENTIFIER + 1);
    checkInteger('identifierSpan', identifierSpan, 1, MAX_IDENTIFIER + 1);
    if (
      !Number.isInteger(identifierBase) ||
      identifierBase < 0 ||
      identifierBase + shards * identifierSpan > MAX_IDENTIFIER + 1
    ) {
      throw new InvalidOptionError(
        'identifierBase',
        `${shards} shards of ${identifierSpan} identifiers from ${String(identifierBase)} do not fit in 16 bits`,
      );
    }
    this.#shards = shards;
    this.#span = identifierSpan;
    this.#base = identifierBase;
    this.#udpPortOwner = routes.udpPortOwner;
    this.#tcpPortOwner = routes.tcpPortOwner;
    this.#isLocal = routes.isLocalAddress ?? isLoopbackIpv4;
    this.#dropForeignRequests = routes.dropForeignRequests === true;
    this.counters = {
      received: 0,
      routed: Object.fromEntries(ROUTED_KINDS.map((kind) => [kind, 0])) as Record<RoutedKind, number>,
      dropped: Object.fromEntries(ICMP_DROP_REASONS.map((reason) => [reason, 0])) as Record<
        IcmpDropReason,
        number
      >,
      routedToShard: new Array<number>(shards).fill(0),
    };
  }

  /** The shard that owns echo identifier `identifier`, or -1. */
  identifierOwner(identifier: number): number {
    const index = identifier - this.#base;
    if (index < 0 || index >= this.#shards * this.#span) return -1;
    return Math.floor(index / this.#span);
  }

  /** Parses, routes and counts one received IPv4 packet. Never throws. */
  dispatch(bytes: Uint8Array, offset = 0, length = bytes.length - offset): IcmpRoute {
    const counters = this.counters;
    counters.received++;
    let route: IcmpRoute;
    try {
      const parsed = parseIcmp(bytes, offset, length);
      route = parsed.ok ? this.route(parsed.packet) : parsed;
    } catch {
      route = DROPPED['internal-error'];
    }
    if (route.ok) {
      counters.routed[route.packet.kind as RoutedKind]++;
      counters.routedToShard[route.shard]!++;
    } else counters.dropped[route.reason]++;
    return route;
  }

  /** Routes an already parsed packet; counts nothing. Never throws. */
  route(packet: IcmpPacket): IcmpRoute {
    switch (packet.kind) {
      case 'echoReply':
      case 'echoRequest': {
        const identifier = packet.identifier;
        const shard = this.identifierOwner(identifier);
        if (shard < 0) return DROPPED['unowned-identifier'];
        if (packet.kind === 'echoRequest') {
          if (this.#local(packet.sourceAddress)) return DROPPED['own-request'];
          if (this.#dropForeignRequests) return DROPPED['foreign-request'];
        }
        return { ok: true, shard, packet };
      }
      case 'unreachable':
      case 'timeExceeded': {
        const identifier = packet.quotedEchoIdentifier;
        if (identifier >= 0) {
          const shard = this.identifierOwner(identifier);
          return shard < 0 ? DROPPED['unowned-identifier'] : { ok: true, shard, packet };
        }
        const port = packet.quotedSourcePort;
        if (port < 0) return DROPPED['unroutable-quote'];
        const owner = packet.quotedProtocol === PROTOCOL_UDP ? this.#udpPortOwner : this.#tcpPortOwner;
        if (owner === undefined) return DROPPED['unowned-port'];
        return this.#byPort(owner, port, packet);
      }
      default:
        return DROPPED['other-kind'];
    }
  }

  #byPort(owner: (port: number) => number, port: number, packet: IcmpPacket): IcmpRoute {
    let shard: number;
    try {
      shard = owner(port);
    } catch {
      return DROPPED['route-error'];
    }
    if (shard === -1) return DROPPED['unowned-port'];
    if (!Number.isInteger(shard) || shard < 0 || shard >= this.#shards) return DROPPED['route-error'];
    return { ok: true, shard, packet };
  }

  #local(address: number): boolean {
    try {
      return this.#isLocal(address) === true;
    } catch {
      // A throwing predicate must not turn our own requests into routed packets: treat as local.
      return true;
    }
  }
}
