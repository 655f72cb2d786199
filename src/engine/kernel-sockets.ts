import { close, listen } from '../native/binding.js';
import type { InheritedSockets, SocketOrigin } from './inherited-sockets.js';
import type { ResolvedListener } from './options.js';

/** The `#assigned` key of copies that wait for a shard. */
const WAITING = -1;

/**
 * balance 'kernel': the SO_REUSEPORT listening sockets of one listener, one per shard, owned by the
 * coordinator. Each shard accepts on its own duplicate (RECORD_LISTEN_SOCKET). The coordinator's copy keeps
 * each socket, and the connections queued on it, alive while its shard restarts or is replaced by a reload:
 * closing a socket of a SO_REUSEPORT group resets what waits in its queue (unless the host sets
 * net.ipv4.tcp_migrate_req), so none is closed before the engine stops accepting. It is also what a process
 * hand-over passes on.
 *
 * Sockets may be inherited (a predecessor's copies, or one systemd socket). Copies are shared out so that
 * every socket has a shard and every shard a socket: copy j goes to shard j % shards; with fewer copies
 * than shards, the rest bind new copies on the same port where the inherited ones allow it
 * (SO_REUSEPORT), or share them. A shard given up past its restart budget hands its copies to a serving
 * shard (or, with none serving, to the next one online): a copy nobody accepts on would hold the
 * connections the kernel hashes to it for ever.
 */
export class KernelSockets {
  readonly copies: readonly number[];
  readonly port: number;
  readonly origin: SocketOrigin;
  /** Shard id → the copies (indices) it accepts on; WAITING: copies of a given-up shard, for the next one. */
  readonly #assigned = new Map<number, number[]>();
  #closed = false;

  private constructor(copies: number[], port: number, origin: SocketOrigin, shards: number) {
    this.copies = copies;
    this.port = port;
    this.origin = origin;
    for (let shardId = 0; shardId < shards; shardId++) {
      this.#assigned.set(
        shardId,
        copies.length < shards
          ? [shardId % copies.length]
          : copies.map((_, copy) => copy).filter((copy) => copy % shards === shardId),
      );
    }
  }

  /** Claims or binds `shards` copies (or more, when a predecessor had more); closes them all on failure. */
  static open(config: ResolvedListener, shards: number, inherited: InheritedSockets): KernelSockets {
    const copies: number[] = [];
    try {
      const claim = (copy: number) =>
        inherited.claim({
          key: `kernel:${config.id}:${copy}`,
          type: 'stream',
          host: config.host,
          port: config.port,
        });
      let port = config.port;
      let origin: SocketOrigin = 'bound';
      let canJoin = true;
      for (let socket = claim(0); socket !== undefined; socket = claim(copies.length)) {
        copies.push(socket.fd);
        port = socket.description.port;
        origin = socket.origin;
        canJoin &&= socket.description.reusePort;
        // A systemd socket (matched by port or name, not by copy) comes alone.
        if (socket.origin === 'systemd') break;
      }
      const wanted = copies.length === 0 || canJoin ? shards : copies.length;
      while (copies.length < wanted) {
        const bound = listen({ host: config.host, port, backlog: config.backlog, reusePort: true });
        copies.push(bound.fd);
        port = bound.port;
      }
      return new KernelSockets(copies, port, origin, shards);
    } catch (error) {
      for (const fd of copies) close(fd);
      throw error;
    }
  }

  /** The copies shard `shardId` accepts on: hand it a duplicate of each when it (re)starts. */
  copiesFor(shardId: number): number[] {
    return (this.#assigned.get(shardId) ?? []).map((copy) => this.copies[copy]!);
  }

  /**
   * Shard `from` was given up: its copies go to `to` (undefined: to the next shard that comes online,
   * see `adoptWaiting`). Returns the copies `to` did not accept on yet, to hand it duplicates of.
   */
  move(from: number, to: number | undefined): number[] {
    const moved = this.#assigned.get(from) ?? [];
    this.#assigned.delete(from);
    return this.#give(to ?? WAITING, moved);
  }

  /** Shard `shardId` comes online: it takes the copies waiting for a shard, if any (see `move`). */
  adoptWaiting(shardId: number): void {
    const waiting = this.#assigned.get(WAITING) ?? [];
    this.#assigned.delete(WAITING);
    this.#give(shardId, waiting);
  }

  #give(to: number, copies: readonly number[]): number[] {
    const held = this.#assigned.get(to) ?? [];
    const added = copies.filter((copy) => !held.includes(copy));
    this.#assigned.set(to, [...held, ...added]);
    return added.map((copy) => this.copies[copy]!);
  }

  /** Closes the coordinator's copies (the shards close their own duplicates as they drain). Once. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const fd of this.copies) {
      try {
        close(fd);
      } catch {}
    }
  }
}
