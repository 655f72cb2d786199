import net from 'node:net';
import { InvalidOptionError, type SockshardError } from '../errors.js';
import {
  ACCEPTED_ADDRESS_HASH,
  ACCEPTED_FD,
  ACCEPTED_STRIDE,
  type AcceptHandle,
  acceptError,
  close,
  dup,
  localPort,
  resumeAccepting,
  startAccepting,
  stopAccepting,
} from '../native/binding.js';
import { ADDRESS_BUCKET_MASK } from '../protocol.js';
import type { Balancer } from './balancer.js';
import type { ConnectionLimits, ResolvedListener } from './options.js';
import { type ProxiedConnection, ProxyHeaders } from './proxy-headers.js';
import type { ShardHandle } from './shard-handle.js';
import { addressHash } from './socket-transfer.js';

/** Connections accepted per native call (and per JS callback). */
const ACCEPT_BATCH = 64;
/** After EMFILE and the like, how long accepting pauses (connections wait in the kernel's backlog). */
const ACCEPT_BACKOFF_MS = 100;
/**
 * While accepting keeps failing with one error (EMFILE lasts as long as the fd table is full: ten failures a
 * second with the back-off above), it is reported once per this long; every failure is counted. As nginx
 * writes "accept() failed" to its log once per interval rather than once per failure.
 */
const ACCEPT_ERROR_REPORT_MS = 10_000;

/**
 * The acceptor of one listener, on the coordinator thread: it owns the listening fd, accepts in batches
 * (native accept4 driven by a uv_poll in this thread's loop), picks a shard for each connection with the
 * listener's balancer, writes the fd into that shard's control ring and never touches it again. It never
 * reads a byte: what a client sent before its shard adopts the fd waits in the kernel.
 */
export class Acceptor {
  readonly listener: ResolvedListener;
  /** The bound port (the kernel's pick when the listener asked for port 0). */
  port = 0;
  /** Connections accepted. */
  accepted = 0;
  /** Accepted connections closed at once: no live shard, or its control ring was full. */
  dropped = 0;
  /** Accepted connections closed at once for a limit: engine-wide, every shard full, per address. */
  refusedMaxConnections = 0;
  refusedShardsFull = 0;
  refusedPerAddress = 0;
  /** accept4 failures (EMFILE, ENFILE, ENOBUFS, ENOMEM), each followed by a pause of ACCEPT_BACKOFF_MS. */
  acceptErrors = 0;
  /** PROXY protocol listeners: the headers being read, and their counts. */
  proxy: ProxyHeaders | undefined;
  readonly #limits: Required<ConnectionLimits>;
  readonly #shards: readonly ShardHandle[];
  readonly #balancer: Balancer;
  readonly #onError: (error: SockshardError) => void;
  readonly #out = new Int32Array(ACCEPT_BATCH * ACCEPTED_STRIDE);
  #fd = -1;
  #handle: AcceptHandle | undefined;
  #backoff: NodeJS.Timeout | undefined;
  #server: net.Server | undefined;
  /** The last accept error reported, and when (performance.now()). */
  #reported: { readonly code: string; readonly at: number } | undefined;

  constructor(
    listener: ResolvedListener,
    shards: readonly ShardHandle[],
    balancer: Balancer,
    limits: Required<ConnectionLimits>,
    onError: (error: SockshardError) => void,
  ) {
    this.#limits = limits;
    this.listener = listener;
    this.#shards = shards;
    this.#balancer = balancer;
    this.#onError = onError;
  }

  /**
   * Starts accepting on `fd`, a listening socket (bound here or inherited), which the acceptor owns from
   * now on, even if this throws.
   */
  async open(fd: number, handoff: 'native' | 'transfer'): Promise<void> {
    this.#fd = fd;
    this.port = localPort(fd);
    const { proxyProtocol } = this.listener;
    if (proxyProtocol !== undefined && handoff === 'transfer') {
      throw new InvalidOptionError(
        'handoff',
        "'transfer' moves sockets Node accepted; proxyProtocol needs the native accept, which reads headers",
      );
    }
    if (handoff === 'transfer') {
      const server = net.createServer({ pauseOnConnect: true }, this.#onSocket);
      // Node's server owns a duplicate; this acceptor keeps `fd` to offer it in a hand-over.
      const copy = dup(fd);
      this.#server = server;
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ fd: copy }, () => {
          server.off('error', reject);
          resolve();
        });
      });
      return;
    }
    if (proxyProtocol !== undefined)
      this.proxy = new ProxyHeaders(proxyProtocol, this.#onProxied, this.#flushAll);
    this.#handle = startAccepting(fd, this.#out, this.#onBatch);
  }

  /** The listening socket (until `close`), for a hand-over to offer. */
  get fd(): number {
    return this.#fd;
  }

  readonly #onBatch = (count: number): void => {
    if (count < 0) {
      // EMFILE/ENFILE/ENOBUFS/ENOMEM: the addon has paused the poll (it is level-triggered and would spin).
      this.acceptErrors++;
      const error = acceptError(count, { fd: this.#fd });
      const now = performance.now();
      const last = this.#reported;
      if (last === undefined || last.code !== error.code || now - last.at >= ACCEPT_ERROR_REPORT_MS) {
        this.#reported = { code: error.code, at: now };
        this.#onError(error);
      }
      this.#backoff = setTimeout(() => {
        if (this.#handle !== undefined) resumeAccepting(this.#handle);
      }, ACCEPT_BACKOFF_MS);
      return;
    }
    const out = this.#out;
    this.accepted += count;
    const proxy = this.proxy;
    if (proxy !== undefined) {
      // The client's address is in the header: balance once it is read (#onProxied), which for a header
      // already queued is now, in add().
      for (let i = 0; i < count; i++) proxy.add(out[i * ACCEPTED_STRIDE + ACCEPTED_FD]!);
      this.#flushAll();
      return;
    }
    const shards = this.#shards;
    const id = this.listener.id;
    let open = this.#openConnections();
    for (let i = 0; i < count; i++) {
      const fd = out[i * ACCEPTED_STRIDE + ACCEPTED_FD]!;
      const hash = out[i * ACCEPTED_STRIDE + ACCEPTED_ADDRESS_HASH]!;
      const shard = this.#admit(hash, open);
      // A refusal closes the fd at once (the client sees the connection close); #admit counted it.
      if (shard < 0) {
        close(fd);
        continue;
      }
      if (!shards[shard]!.handoff(fd, id, hash & ADDRESS_BUCKET_MASK)) {
        close(fd);
        this.dropped++;
        continue;
      }
      open++;
    }
    for (const shard of shards) shard.flush();
  };

  /** A connection whose PROXY header was read: the limits and the balancer see the client's address. */
  readonly #onProxied = (connection: ProxiedConnection): void => {
    const { fd, hash } = connection;
    const shard = this.#admit(hash, this.#openConnections());
    if (shard < 0) {
      close(fd);
      return;
    }
    const { address, port } = connection;
    if (
      !this.#shards[shard]!.handoffProxied(fd, this.listener.id, hash & ADDRESS_BUCKET_MASK, address, port)
    ) {
      close(fd);
      this.dropped++;
    }
  };

  readonly #flushAll = (): void => {
    for (const shard of this.#shards) shard.flush();
  };

  /** Open connections over all shards, when maxConnections needs the figure (else 0: not read). */
  #openConnections(): number {
    if (this.#limits.maxConnections === 0) return 0;
    return this.#shards.reduce((total, shard) => total + shard.openConnections(), 0);
  }

  /**
   * The limits, then the balancer: the shard for a connection from `hash`, or -1 after counting why
   * it is refused. `open` is the engine-wide count of open connections (see #openConnections).
   */
  #admit(hash: number, open: number): number {
    const { maxConnections, maxConnectionsPerAddress } = this.#limits;
    if (maxConnections !== 0 && open >= maxConnections) {
      this.refusedMaxConnections++;
      return -1;
    }
    if (
      maxConnectionsPerAddress !== 0 &&
      this.#fromAddress(hash & ADDRESS_BUCKET_MASK) >= maxConnectionsPerAddress
    ) {
      this.refusedPerAddress++;
      return -1;
    }
    const shard = this.#balancer.next(hash);
    if (shard < 0) {
      if (this.#shards.some((s) => s.alive)) this.refusedShardsFull++;
      else this.dropped++;
    }
    return shard;
  }

  /**
   * handoff 'transfer': Node accepted `socket` (paused, so nothing was read) and it moves to its shard by
   * postMessage, where Node supports that (Node 24+); the limits and balancers are the same.
   */
  readonly #onSocket = (socket: net.Socket): void => {
    this.accepted++;
    const hash = addressHash(socket.remoteAddress);
    const shard = this.#admit(hash, this.#openConnections());
    if (shard < 0) socket.destroy();
    else this.#shards[shard]!.transfer(socket, this.listener.id, hash & ADDRESS_BUCKET_MASK);
  };

  #fromAddress(bucket: number): number {
    let total = 0;
    for (const shard of this.#shards) total += shard.fromAddress(bucket);
    return total;
  }

  /** Stops accepting and closes the listening socket; connections already handed off are not touched. */
  close(): void {
    this.#server?.close();
    this.#server = undefined;
    clearTimeout(this.#backoff);
    if (this.#handle !== undefined) stopAccepting(this.#handle);
    this.#handle = undefined;
    if (this.#fd >= 0) close(this.#fd);
    this.#fd = -1;
    this.proxy?.close();
  }
}
