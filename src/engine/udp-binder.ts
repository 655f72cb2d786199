import { InvalidOptionError } from '../errors.js';
import { close, dup } from '../native/binding.js';
import type { InheritedSockets, OpenedSocket, SocketOrigin } from './inherited-sockets.js';
import type { ResolvedUdpListener } from './options.js';
import type { ShardHandle } from './shard-handle.js';
import { socketInode } from './udp-kernel-drops.js';

/** One bound UDP port of a listener and the shards serving it. */
export interface UdpBinding {
  readonly listenerId: number;
  readonly port: number;
  /** Index of this port's counter lines (see UDP_* in protocol.ts). */
  readonly portIndex: number;
  /**
   * The shards serving the port, in `kept` order. It changes when a shard is given up (`moveUdpPorts`):
   * empty while the port waits for a shard to serve it.
   */
  shards: number[];
  /** Every shard has its own SO_REUSEPORT socket on the port. */
  readonly reusePort: boolean;
  /** The receive path its shards run. */
  readonly io: 'dgram' | 'batched';
  /**
   * The coordinator's own duplicate of each socket (one per serving shard, in `shards` order). It keeps the
   * socket, its port and its queued datagrams alive while a shard restarts (the restarted shard adopts a
   * new duplicate), and names the sockets for the kernel's drop counters. Closed by `closeUdpBindings`.
   */
  kept: number[];
  /** The sockets' inodes (the same socket as the kept duplicates), for /proc/net/udp's drop counters. */
  readonly inodes: readonly string[];
  /** Bound here, or inherited (systemd, a predecessor). */
  readonly origin: SocketOrigin;
}

function owner(listener: ResolvedUdpListener, port: number, shards: number): number {
  const shard = listener.shardFor(port, shards);
  if (!Number.isInteger(shard) || shard < 0 || shard >= shards) {
    throw new InvalidOptionError(
      'udp.shardFor',
      `returned ${String(shard)} for port ${port}; shards are 0..${shards - 1}`,
    );
  }
  return shard;
}

/**
 * Binds a UDP listener's ports on the coordinator (so a port in use fails `start()` here, naming the port,
 * and port 0 gets a real number before ownership is decided) and hands each socket to the shard that
 * owns it, or, with reusePort, one SO_REUSEPORT socket per port to every shard. A socket `inherited`
 * (from systemd or a predecessor) is used instead of binding one where it fits; with reusePort, a shard
 * left without an inherited copy binds a new one beside them (or shares one that does not allow that).
 * On failure, every socket this call created and did not hand over is closed.
 */
export async function bindUdpListener(
  listener: ResolvedUdpListener,
  shards: readonly ShardHandle[],
  firstPortIndex: number,
  bindings: UdpBinding[],
  inherited: InheritedSockets,
): Promise<void> {
  for (const [i, requested] of listener.ports.entries()) {
    const portIndex = firstPortIndex + i;
    /** Created here and not yet handed over: ours to close if anything fails. */
    const pending: number[] = [];
    let port = requested;
    let origin: SocketOrigin = 'bound';
    try {
      const copies = listener.reusePort ? shards.length : 1;
      const bind = {
        reusePort: listener.reusePort,
        ipv6Only: listener.ipv6Only,
        ...(listener.recvBufferSize === undefined ? {} : { recvBufferSize: listener.recvBufferSize }),
        ...(listener.sendBufferSize === undefined ? {} : { sendBufferSize: listener.sendBufferSize }),
      };
      for (let copy = 0; copy < copies; copy++) {
        const key = `udp:${listener.id}:${i}:${copy}` as const;
        // A systemd socket comes alone (one per port): the other shards share duplicates of it.
        const opened: OpenedSocket =
          origin === 'systemd'
            ? { fd: dup(pending[0]!), port, origin }
            : inherited.udp({ key, type: 'dgram', host: listener.host, port }, bind);
        if (copy === 0) origin = opened.origin;
        pending.push(opened.fd);
        port = opened.port;
      }
      const targets = listener.reusePort
        ? shards.map((shard) => shard.id)
        : [owner(listener, port, shards.length)];
      const kept = pending.map((fd) => dup(fd));
      // Recorded now, so that a failure below still closes the duplicates (closeUdpBindings).
      const inodes = kept.map(socketInode).filter((inode) => inode !== undefined);
      bindings.push({
        listenerId: listener.id,
        port,
        portIndex,
        shards: targets,
        reusePort: listener.reusePort,
        io: listener.io,
        kept,
        inodes,
        origin,
      });
      for (const shardId of targets) {
        // From its handoff on, a socket is its shard's to close, even if the shard fails to adopt it.
        const fd = pending.shift()!;
        await shards[shardId]!.handoffUdp(fd, listener.id, port, portIndex, listener.io);
      }
    } catch (error) {
      for (const fd of pending) close(fd);
      throw error;
    }
  }
}

/** After a shard restarts: hands it a fresh duplicate of every UDP socket it served before. */
export async function rebindUdp(shard: ShardHandle, bindings: readonly UdpBinding[]): Promise<void> {
  for (const binding of bindings) {
    const copy = binding.shards.indexOf(shard.id);
    if (copy < 0) continue;
    await shard.handoffUdp(
      dup(binding.kept[copy]!),
      binding.listenerId,
      binding.port,
      binding.portIndex,
      binding.io,
    );
  }
}

/**
 * A shard was given up (it stays down): its UDP ports must not stay silent.
 * - `reusePort`: the coordinator closes its duplicate of the dead shard's socket, the last reference to it
 *   (the dead worker's copy closed with it). The kernel takes a closed socket out of the port's
 *   SO_REUSEPORT group, so the flows it had spread to it go to the sockets of the live shards.
 * - One owner: a fresh duplicate of the socket goes to `to` (the caller's pick: a serving shard), with
 *   the datagrams that queued meanwhile; with no shard to take it (`to` undefined), the port is listed as
 *   served by none and returned, and `handOver` gives it to the next shard that comes back.
 * Resolves with the ports left waiting; rejects if a shard fails to adopt a socket.
 */
export async function moveUdpPorts(
  dead: number,
  to: ShardHandle | undefined,
  bindings: readonly UdpBinding[],
): Promise<UdpBinding[]> {
  const waiting: UdpBinding[] = [];
  for (const binding of bindings) {
    const copy = binding.shards.indexOf(dead);
    if (copy < 0) continue;
    if (binding.reusePort) {
      const [fd] = binding.kept.splice(copy, 1);
      binding.shards.splice(copy, 1);
      close(fd!);
      continue;
    }
    binding.shards = [];
    if (to === undefined) waiting.push(binding);
    else await handOver(to, [binding]);
  }
  return waiting;
}

/** Gives one-owner ports that wait for a shard (see moveUdpPorts) to `shard`, which now serves them. */
export async function handOver(shard: ShardHandle, bindings: readonly UdpBinding[]): Promise<void> {
  for (const binding of bindings) {
    binding.shards = [shard.id];
    await rebindUdp(shard, [binding]);
  }
}

/** Closes the coordinator's duplicates (the shards close their own copies when they drain). */
export function closeUdpBindings(bindings: readonly UdpBinding[]): void {
  for (const binding of bindings) {
    for (const fd of binding.kept) {
      try {
        close(fd);
      } catch {}
    }
  }
}
