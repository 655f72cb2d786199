import type { BalanceStrategy } from './options.js';

/** What a balancer needs to know about a shard. */
export interface Balanced {
  /** False while a shard is starting, dead, draining or at its connection cap: it gets no new connections. */
  hasRoom(): boolean;
  /** Connections handed to (or accepted by) the shard and not yet closed. */
  openConnections(): number;
}

/** Picks the shard for the next accepted connection; -1 when no shard can take it. */
export interface Balancer {
  next(addressHash: number): number;
}

/** One balancer per listener, so that round-robin and tie-breaking turn per listener. */
export function createBalancer(
  strategy: Exclude<BalanceStrategy, 'kernel'>,
  shards: readonly Balanced[],
): Balancer {
  const count = shards.length;
  let turn = 0;
  const firstAlive = (start: number): number => {
    for (let i = 0; i < count; i++) {
      const id = (start + i) % count;
      if (shards[id]!.hasRoom()) return id;
    }
    return -1;
  };
  switch (strategy) {
    case 'round-robin':
      return {
        next: () => {
          const id = firstAlive(turn);
          turn = (id + 1) % count;
          return id;
        },
      };
    case 'hash':
      // The same address always maps to the same shard while that shard lives; if it dies, its clients
      // move to the next live shard and the others keep theirs.
      return { next: (addressHash) => firstAlive((addressHash >>> 0) % count) };
    case 'least-connections':
      return {
        next: () => {
          let best = -1;
          let bestLoad = Number.POSITIVE_INFINITY;
          // Start the scan at a turning offset so that ties (all idle, say) spread instead of piling on 0.
          for (let i = 0; i < count; i++) {
            const id = (turn + i) % count;
            const shard = shards[id]!;
            if (!shard.hasRoom()) continue;
            const load = shard.openConnections();
            if (load < bestLoad) {
              best = id;
              bestLoad = load;
            }
          }
          turn = (turn + 1) % count;
          return best;
        },
      };
  }
}
