import { InvalidOptionError } from '../errors.js';
import { close, udpSocket } from '../native/binding.js';
import type { ResolvedUdpListener } from './options.js';
import type { ShardHandle } from './shard-handle.js';

/** One bound UDP port of a listener and the shards serving it. */
export interface UdpBinding {
  readonly listenerId: number;
  readonly port: number;
  /** Index of this port's counter lines (see UDP_COUNTER_* in protocol.ts). */
  readonly portIndex: number;
  readonly shards: readonly number[];
  /** The sockets' fds (one per serving shard), for the kernel's drop counters. */
  readonly fds: readonly number[];
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
 * owns it, or, with reusePort, one SO_REUSEPORT socket per port to every shard.
 * On failure, every socket this call created and did not hand over is closed.
 */
export async function bindUdpListener(
  listener: ResolvedUdpListener,
  shards: readonly ShardHandle[],
  firstPortIndex: number,
  bindings: UdpBinding[],
): Promise<void> {
  for (const [i, requested] of listener.ports.entries()) {
    const portIndex = firstPortIndex + i;
    /** Created here and not yet handed over: ours to close if anything fails. */
    const pending: number[] = [];
    let port = requested;
    try {
      for (let copy = 0; copy < (listener.reusePort ? shards.length : 1); copy++) {
        const bound = udpSocket({
          host: listener.host,
          port,
          reusePort: listener.reusePort,
          ipv6Only: listener.ipv6Only,
          ...(listener.recvBufferSize === undefined ? {} : { recvBufferSize: listener.recvBufferSize }),
          ...(listener.sendBufferSize === undefined ? {} : { sendBufferSize: listener.sendBufferSize }),
        });
        pending.push(bound.fd);
        port = bound.port;
      }
      const fds = [...pending];
      const targets = listener.reusePort
        ? shards.map((shard) => shard.id)
        : [owner(listener, port, shards.length)];
      for (const [copy, shardId] of targets.entries()) {
        // From its handoff on, a socket is its shard's to close, even if the shard fails to adopt it.
        pending[copy] = -1;
        await shards[shardId]!.handoffUdp(fds[copy]!, listener.id, port, portIndex);
      }
      bindings.push({ listenerId: listener.id, port, portIndex, shards: targets, fds });
    } catch (error) {
      for (const fd of pending) if (fd >= 0) close(fd);
      throw error;
    }
  }
}
