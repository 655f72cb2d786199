/**
 * How a shard serves its listeners, one module per kind behind one interface. The shard (shard.ts) owns
 * what every kind shares: the control ring, adopting handed-off fds, the per-connection bookkeeping
 * (counters, address buckets, idle timeout, tracking for the drain), 'kernel' listening sockets, the ring
 * mesh and the drain's order. A kind module owns what only it knows: what to do with a connection, a UDP
 * socket or an ICMP packet, its handler's contract, and its part of a drain.
 *
 * Adding a kind: a module that exports a `ListenerKindModule` (see tcp-listener.ts for the smallest), one line in
 * listener-kinds.ts, and the kind's name in `ListenerKind` of protocol.ts (the coordinator's side).
 */
import type net from 'node:net';
import type { ShardContext } from '../handler.js';
import type { ListenerSpec, TlsSettings } from '../protocol.js';
import type { ClientHelloPeek } from './client-hello-peek.js';
import type { ShardIcmp } from './shard-icmp.js';
import type { TicketKeysView } from './ticket-keys-view.js';

/**
 * A draining HTTP listener (either path) closes a keep-alive connection with nothing in progress once it
 * has been quiet this long, checked every DRAIN_POLL_MS; one busy with a response closes after it
 * (`Connection: close`). Closing an idle connection at once races the client's next request (already on
 * the wire, or in the socket's buffer, when the connection closes: the client sees a reset and a failed
 * request); a client under load sends its next request within a fraction of a millisecond, and then gets
 * `Connection: close` with its response instead.
 */
export const DRAIN_QUIET_MS = 100;
export const DRAIN_POLL_MS = 25;

/** What a listener's module gets from its shard. */
export interface ShardServices {
  readonly shardId: number;
  readonly shards: number;
  /** Adds one to this shard's counter `counter` (COUNTER_* in protocol.ts). */
  count(counter: number): void;
  /** The handler threw or rejected: counted and reported as `handler-error` (user code's fault). */
  reportHandlerError(listenerId: number, error: unknown): void;
  /** Something failed that is not the handler's doing: reported as the engine's `error`. */
  reportFault(listenerId: number, error: unknown): void;
  /** Per (UDP port, shard) counter lines (UDP_* in protocol.ts). */
  readonly udpCounters: Float64Array;
  /** This shard's end of ICMP, when the engine serves it. */
  readonly icmp: ShardIcmp | undefined;
  /** The shared session-ticket keys and this shard's ClientHello peeks, when the engine serves TLS. */
  readonly tls: { readonly keys: TicketKeysView; readonly peek: ClientHelloPeek } | undefined;
}

/** Everything a kind module needs to set up one listener in one shard. */
export interface ListenerSetup {
  readonly spec: ListenerSpec;
  /** The handler module's default export, checked to have one of the kind's `entryPoints`. */
  readonly handler: object;
  readonly context: ShardContext;
  readonly shard: ShardServices;
}

/**
 * One listener as a shard serves it. The lifecycle hooks run in this order when the shard drains, each
 * for every listener before the next: `stop`, then (with every connection still in the control ring
 * adopted) `drain`, then, once the connections have closed or been destroyed at the deadline, `close`.
 * A kind implements only the hooks it has work for.
 */
interface ListenerBase {
  /** Take no more work of its own from the kernel (UDP: close the ports). Adopted connections go on. */
  stop?(): Promise<void>;
  /** Ask the work in flight to finish (TCP: the handler's drain hook; HTTP: end idle keep-alives). */
  drain?(): Promise<void>;
  /** The shard is about to end: release what is left (timers). */
  close?(): void;
  /**
   * An uncaught exception in this shard: true if this listener knows whose it is and has dealt with it
   * (HTTP: a request handler that threw synchronously answers 500); false leaves it to the shard.
   */
  claimUncaught?(error: unknown): boolean;
}

/** A listener of connections: TCP, HTTP, and kinds built on them (TLS, ...). */
export interface StreamListener extends ListenerBase {
  readonly transport: 'stream';
  /** Half-open sockets (`allowHalfOpen`), as the kind's server would make them (node:http does). */
  readonly allowHalfOpen: boolean;
  /**
   * The listener looks at a connection's first bytes itself (natively, with MSG_PEEK) before anything
   * reads it: the shard then adopts its sockets without starting to read (`manualStart`; 'kernel' and
   * 'transfer' sockets stay paused), and the listener's server starts reading. TLS kinds set it.
   */
  readonly peeksFirst?: boolean;
  /**
   * The listener applies the spec's `idleTimeoutMs` itself: its server reads the socket's handle directly
   * (TLS, HTTP/2), so the adopted socket sees none of the traffic and the shard's timer would end busy
   * connections.
   */
  readonly timesIdle?: boolean;
  /**
   * A connection this shard adopted (handed off, transferred, or accepted itself with balance 'kernel'),
   * already counted, tracked and given its idle timeout: it is the listener's from here.
   */
  serve(socket: net.Socket): void;
  /**
   * For a kind that owns its connections natively, as raw fds (the fast HTTP path), instead of as
   * net.Sockets: the shard hands it each connection's fd (the listener's to close from then on) in place
   * of wrapping it, counts it adopted and tracks it for the drain; the listener calls `closed` exactly once
   * when the connection has ended. Its idle timeout and socket errors are the listener's to apply and
   * count, and its `close` hook must destroy what is still open.
   */
  adoptFd?(fd: number, closed: () => void): void;
  /** TLS kinds: new credentials (engine.setSecureContext) for new connections; open ones keep theirs. */
  setSecureContext?(settings: TlsSettings): void;
}

/** A listener of UDP ports. */
export interface DatagramListener extends ListenerBase {
  readonly transport: 'datagram';
  /** Serves the bound socket `fd` on `port`, whose counter lines are number `portIndex`; owns the fd now. */
  open(fd: number, port: number, portIndex: number): Promise<void>;
  /** Counts an ICMP error about a datagram that `port` sent; false if this listener does not serve it. */
  peerUnreachable(port: number): boolean;
}

/** The ICMP listener: its packets arrive through the shard's ICMP rings (shard-icmp.ts), not the control ring. */
export interface PacketListener extends ListenerBase {
  readonly transport: 'packet';
}

export type ServedListener = StreamListener | DatagramListener | PacketListener;

/** A kind of listener, as listener-kinds.ts registers it. */
export interface ListenerKindModule {
  /** The functions a handler of this kind must have at least one of; the first is the one named in errors. */
  readonly entryPoints: readonly string[];
  /** The `define...Handler` helper that types this kind's handlers, named in errors. */
  readonly defineHelper: string;
  /** A default export that is a bare function stands for `{ [bareFunction]: fn }` (HTTP: `request`). */
  readonly bareFunction?: string;
  /** Sets the listener up in this shard (the handler's `setup` hook included); a throw fails the start. */
  create(setup: ListenerSetup): Promise<ServedListener>;
}
