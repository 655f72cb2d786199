import {
  COUNTER_ACCEPTED,
  COUNTER_ADOPT_FAILED,
  COUNTER_ADOPTED,
  COUNTER_CLOSED,
  COUNTER_HANDLER_ERRORS,
  COUNTER_REQUESTS,
  COUNTER_SOCKET_ERRORS,
} from '../protocol.js';
import { type RingStats, readRingStats } from '../ring/index.js';
import type { Acceptor } from './acceptor.js';
import type { BalanceStrategy } from './options.js';
import type { ShardHandle } from './shard-handle.js';

export interface ShardStats {
  readonly shardId: number;
  /** Taking new connections (started, not dead, not draining). */
  readonly alive: boolean;
  /** Open now: handed off or accepted, not yet closed. */
  readonly connections: number;
  /** Connections the coordinator wrote to this shard's control ring. */
  readonly handedOff: number;
  /** Handed-off connections the shard has adopted. */
  readonly adopted: number;
  /** Connections the shard accepted itself (balance 'kernel'). */
  readonly accepted: number;
  readonly closed: number;
  /** HTTP requests received. */
  readonly requests: number;
  /** Handler throws and rejections. */
  readonly handlerErrors: number;
  /** Client-side socket errors (resets, broken pipes). */
  readonly socketErrors: number;
  /** Handed-off fds the shard could not use (closed). */
  readonly adoptFailed: number;
  readonly controlRing: RingStats;
}

export interface ListenerStats {
  readonly id: number;
  readonly kind: 'tcp' | 'http';
  readonly host: string;
  readonly port: number;
  readonly balance: BalanceStrategy;
  /** Accepted by the coordinator (0 for 'kernel', where shards accept). */
  readonly accepted: number;
  /** Accepted and closed at once: no live shard, or its control ring was full. */
  readonly dropped: number;
}

type Totals = Omit<ShardStats, 'shardId' | 'alive' | 'controlRing'>;

/** A snapshot read from shared memory: no message goes to any shard. */
export interface EngineStats {
  readonly shards: readonly ShardStats[];
  readonly total: Totals;
  readonly listeners: readonly ListenerStats[];
}

export function shardStats(shard: ShardHandle): ShardStats {
  const accepted = shard.counter(COUNTER_ACCEPTED);
  const closed = shard.counter(COUNTER_CLOSED);
  return {
    shardId: shard.id,
    alive: shard.alive,
    connections: shard.handedOff + accepted - closed,
    handedOff: shard.handedOff,
    adopted: shard.counter(COUNTER_ADOPTED),
    accepted,
    closed,
    requests: shard.counter(COUNTER_REQUESTS),
    handlerErrors: shard.counter(COUNTER_HANDLER_ERRORS),
    socketErrors: shard.counter(COUNTER_SOCKET_ERRORS),
    adoptFailed: shard.counter(COUNTER_ADOPT_FAILED),
    controlRing: readRingStats(shard.controlRing),
  };
}

export function engineStats(
  shards: readonly ShardHandle[],
  listeners: readonly { readonly stats: ListenerStats }[],
): EngineStats {
  const perShard = shards.map(shardStats);
  const total: Record<keyof Totals, number> = {
    connections: 0,
    handedOff: 0,
    adopted: 0,
    accepted: 0,
    closed: 0,
    requests: 0,
    handlerErrors: 0,
    socketErrors: 0,
    adoptFailed: 0,
  };
  for (const shard of perShard) {
    for (const key of Object.keys(total) as (keyof Totals)[]) total[key] += shard[key];
  }
  return { shards: perShard, total, listeners: listeners.map((listener) => listener.stats) };
}

export function listenerStats(
  listener: {
    readonly id: number;
    readonly kind: 'tcp' | 'http';
    readonly host: string;
    readonly balance: BalanceStrategy;
  },
  port: number,
  acceptor: Acceptor | undefined,
): ListenerStats {
  return {
    id: listener.id,
    kind: listener.kind,
    host: listener.host,
    port,
    balance: listener.balance,
    accepted: acceptor?.accepted ?? 0,
    dropped: acceptor?.dropped ?? 0,
  };
}
