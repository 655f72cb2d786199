/**
 * The only module the coordinator (src/engine) and the shards (src/workers) share: the messages they
 * exchange, the record types on their rings and the layout of the shared counters.
 *
 * Data path: the coordinator writes one record per accepted connection into the shard's control ring
 * (coordinator = producer, shard = consumer). Control path: `postMessage` for rare events (start, ready,
 * drain, errors), which never carry payload bytes or fds.
 */

import type { Socket } from 'node:net';
import type { SerializedError } from './errors.js';

/** The kinds of listener a shard can serve. */
/** `fast-http` is `engine.http({ api: 'fast' })`: the coordinator treats it as `http`, the shard serves it natively. */
export type ListenerKind = 'tcp' | 'http' | 'fast-http' | 'udp' | 'icmp' | 'tls' | 'https' | 'http2';

/** What a shard needs to know about one listener (all structured-clone safe). */
export interface ListenerSpec {
  readonly id: number;
  readonly kind: ListenerKind;
  /** The handler module, as a file: URL string. */
  readonly handler: string;
  /** `node:http` server options for `http` listeners. */
  readonly http?: HttpServerSettings;
  /**
   * With balance 'kernel' every shard accepts for itself on its own SO_REUSEPORT socket, which the
   * coordinator hands it (RECORD_LISTEN_SOCKET).
   */
  readonly kernel?: {
    /** The shard's own cap on open connections (maxConnectionsPerShard); 0 = none. */
    readonly maxConnections: number;
  };
  /** Destroy a connection with no traffic for this long; 0 = never. */
  readonly idleTimeoutMs?: number;
  /** `udp` listeners. */
  readonly udp?: UdpSettings;
  /** `tls`, `https` and `http2` listeners (absent for cleartext h2c). */
  readonly tls?: TlsSettings;
  /** `http2` listeners. */
  readonly http2?: Http2Settings;
}

/**
 * A key, its certificates and what unlocks it, as bytes (read from files by the coordinator, so a shard
 * never touches the filesystem and a reload rolls one consistent set to every shard).
 */
export interface TlsCredentials {
  readonly key: readonly Uint8Array[];
  readonly cert: readonly Uint8Array[];
  readonly passphrase?: string;
  readonly ca?: readonly Uint8Array[];
}

/** What a shard's TLS servers are made of; all structured-clone safe. */
export interface TlsSettings {
  readonly credentials: TlsCredentials;
  /** Server names (exact, or `*.example.com`) and their credentials, for SNI. */
  readonly sni: readonly (readonly [string, TlsCredentials])[];
  readonly minVersion?: 'TLSv1.2' | 'TLSv1.3';
  readonly maxVersion?: 'TLSv1.2' | 'TLSv1.3';
  readonly ciphers?: string;
  readonly ecdhCurve?: string;
  readonly requestCert: boolean;
  readonly rejectUnauthorized: boolean;
  /** Ticket lifetime hint and the age past which a ticket is refused, in seconds. */
  readonly sessionTimeout: number;
  /** The same in every shard, so a session made in one is valid in another. */
  readonly sessionIdContext: string;
  readonly handshakeTimeoutMs: number;
  /** ALPN protocols a `tls` listener offers, in order of preference. */
  readonly alpnProtocols?: readonly string[];
}

/** `node:http2` settings of an `http2` listener. */
export interface Http2Settings {
  /** Also serve HTTP/1.1 clients (TLS only: ALPN picks). */
  readonly allowHTTP1: boolean;
  readonly maxConcurrentStreams: number;
  readonly maxHeaderListSize: number;
  readonly maxSessionMemory: number;
  /** Invalid frames a session may send before it is cut off (node:http2's maxSessionInvalidFrames). */
  readonly maxSessionInvalidFrames: number;
  /** Streams a session may have refused before it is cut off (node:http2's maxSessionRejectedStreams). */
  readonly maxSessionRejectedStreams: number;
  /** RST_STREAM frames a client may send per `resetWindowMs` before its session is cut off. */
  readonly maxResetsPerWindow: number;
  readonly resetWindowMs: number;
  /** A session with no frames for this long is closed (0: never). */
  readonly sessionIdleTimeoutMs: number;
}

/**
 * The session-ticket keys every shard's TLS servers use, so that a ticket made by one shard resumes on
 * another. Threading contract: the coordinator is the only writer (at start and at each rotation), under a
 * sequence lock; shards read. A reader that sees an odd sequence, or a different one after copying, reads
 * again. The generation moves on at each rotation, so a shard compares one word per connection and copies
 * the keys only when they changed.
 *
 * | byte | what                                                                |
 * |------|---------------------------------------------------------------------|
 * | 0    | Int32 SEQUENCE: odd while the coordinator writes                    |
 * | 4    | Int32 GENERATION: 1 at start, +1 per rotation                       |
 * | 8    | CURRENT: 48 bytes (16 name, 16 HMAC secret, 16 AES key), as Node's setTicketKeys |
 * | 56   | PREVIOUS: the keys of the period before, still accepted; zeros if none |
 */
export const TICKET_KEYS_SEQUENCE = 0;
export const TICKET_KEYS_GENERATION = 1;
export const TICKET_KEYS_CURRENT = 8;
export const TICKET_KEYS_PREVIOUS = 56;
export const TICKET_KEY_BYTES = 48;
export const TICKET_KEY_NAME_BYTES = 16;
export const TICKET_KEYS_BYTES = 104;

/** How a shard serves the UDP sockets of one listener. */
export interface UdpSettings {
  readonly family: 4 | 6;
  /** node:dgram, or the native recvmmsg/sendmmsg path. */
  readonly io: 'dgram' | 'batched';
  /** Larger datagrams are dropped and counted (OVERSIZED), never handed to the handler. */
  readonly maxDatagram: number;
  readonly recvBufferSize?: number;
  readonly sendBufferSize?: number;
}

/** The HTTP server settings a shard applies (a plain-data subset of `http.ServerOptions`, plus `api`). */
export interface HttpServerSettings {
  /**
   * Which handler API serves the listener: `node` (default) runs a `defineHttpHandler` module on a
   * `node:http` server; `fast` runs a `defineFastHttpHandler` module on sockshard's own HTTP/1.1 path (llhttp
   * on connections the shard owns natively), with the same limits, timeouts and counters.
   */
  readonly api?: 'node' | 'fast';
  readonly keepAliveTimeout?: number;
  readonly headersTimeout?: number;
  readonly requestTimeout?: number;
  readonly maxHeaderSize?: number;
  readonly maxRequestsPerSocket?: number;
  /** How often node:http checks header and request timeouts (ms). Node's default is 30 s. */
  readonly connectionsCheckingInterval?: number;
}

/** `workerData` of a shard. */
export interface ShardInit {
  readonly shardId: number;
  readonly shards: number;
  readonly control: SharedArrayBuffer;
  readonly counters: SharedArrayBuffer;
  /** Per (UDP port, shard) counters; see UDP_* below. */
  readonly udpCounters: SharedArrayBuffer;
  /** Open connections per client address bucket (see ADDRESS_BUCKETS). */
  readonly addresses: SharedArrayBuffer;
  /**
   * The ring mesh: `meshOut[j]` carries this shard's messages to shard j, `meshIn[j]` shard j's messages to
   * this one (null at j = shardId). One SPSC ring per ordered pair of shards, as Seastar does.
   */
  readonly meshOut: readonly (SharedArrayBuffer | null)[];
  readonly meshIn: readonly (SharedArrayBuffer | null)[];
  readonly listeners: readonly ListenerSpec[];
  /** Present when the engine serves ICMP (engine.icmp()). */
  readonly icmp?: ShardIcmpInit;
  /** Present when the engine has an offload pool. */
  readonly offload?: OffloadSettings;
  /** Present when the engine has TLS listeners: the shared session-ticket keys (TICKET_KEYS_*). */
  readonly ticketKeys?: SharedArrayBuffer;
  /** How many rolling reloads the engine had run when this shard's code was loaded (0 at start). */
  readonly generation: number;
  /**
   * A rolling reload's replacement: load the handlers and set the listeners up, say 'prepared', and touch
   * no ring (the control ring, the mesh, ICMP: the shard it replaces still uses them) until 'take-over'.
   */
  readonly standby?: boolean;
}

/**
 * `workerData` of a spare shard: a worker started ahead of need, so that a dead shard's replacement has
 * already paid for its thread, its isolate and its imports. It imports `preload` (the handler modules),
 * says `standing-by`, and waits for the one message that makes it a shard: `{ type: 'become', init }`.
 */
export interface SpareInit {
  readonly preload: readonly string[];
}

/** The message that turns a spare into the shard `init` describes. */
export interface BecomeShard {
  readonly type: 'become';
  readonly init: ShardInit;
}

/** A shard's piscina pool for `context.offload()`. */
export interface OffloadSettings {
  /** The task module (file: URL) whose default export runs in the pool's threads. */
  readonly module: string;
  readonly threadsPerShard: number;
  /** Default per-task timeout; 0 = none. */
  readonly timeoutMs: number;
  /** How much nicer than the shards the pool's threads run (Linux). */
  readonly niceIncrement: number;
}

/** A shard's share of ICMP: its two rings with the coordinator's raw socket, and its identifiers. */
export interface ShardIcmpInit {
  /** Coordinator → shard: RECORD_ICMP_PACKET records. */
  readonly packets: SharedArrayBuffer;
  /** Shard → coordinator: RECORD_ICMP_SEND records. */
  readonly sends: SharedArrayBuffer;
  /** Echo identifiers this shard allocates from: [start, end). Replies come back by identifier. */
  readonly identifierStart: number;
  readonly identifierEnd: number;
  /** Probes per second this shard may send (the engine's rate, shared out). */
  readonly ratePerSecond: number;
  /** The `engine.icmp()` listener whose handler gets the packets, or -1 for ping-only use. */
  readonly listenerId: number;
}

// Record types on a shard's control ring. Every one carries, in its first word, an fd the shard owns once it
// takes the record: a shard that dies for good has that fd closed for it, whatever the record's type
// (ShardHandle.release), so a new record type must keep its fd there.
export const CONTROL_RECORD_FD = 0;
/**
 * Payload: Int32 [fd, listenerId, addressBucket]. The shard adopts the fd; from then on it owns it, and
 * when the connection closes it takes the connection off its address bucket (see ADDRESS_BUCKETS).
 */
export const RECORD_HANDOFF = 1;
export const HANDOFF_FD = CONTROL_RECORD_FD;
export const HANDOFF_LISTENER = 1;
export const HANDOFF_ADDRESS_BUCKET = 2;
export const HANDOFF_BYTES = 12;

/**
 * A connection whose client address the coordinator learnt from a PROXY protocol header (it has read and
 * consumed the header). Payload: Int32 [fd, listenerId, addressBucket, family (4 or 6), port, then the
 * address as four big-endian 32-bit groups (IPv4: the first word)], padded to 8-byte alignment. The shard
 * shows that address as the socket's remoteAddress.
 */
export const RECORD_HANDOFF_PROXIED = 3;
export const HANDOFF_FAMILY = 3;
export const HANDOFF_PORT = 4;
export const HANDOFF_ADDRESS = 5;
export const HANDOFF_PROXIED_BYTES = 40;

/**
 * Open connections per client address, for `maxConnectionsPerAddress`: one Int32 table of ADDRESS_BUCKETS
 * counters per shard (slot `shardId * ADDRESS_BUCKETS + bucket`, bucket = the address hash's low 16 bits).
 * The coordinator adds at handoff, the shard subtracts at close; an address's count is the sum over shards.
 * Two addresses that share a bucket share a count, which can only make the cap stricter for them.
 */
export const ADDRESS_BUCKETS = 1 << 16;
export const ADDRESS_BUCKET_MASK = ADDRESS_BUCKETS - 1;

export function createAddressTable(shards: number): SharedArrayBuffer {
  return new SharedArrayBuffer(shards * ADDRESS_BUCKETS * Int32Array.BYTES_PER_ELEMENT);
}

/** Shard `shardId`'s ADDRESS_BUCKETS counters in the address table (its own view and the coordinator's). */
export function addressTableSlice(table: SharedArrayBuffer, shardId: number): Int32Array {
  return new Int32Array(table, shardId * ADDRESS_BUCKETS * Int32Array.BYTES_PER_ELEMENT, ADDRESS_BUCKETS);
}

/**
 * Payload: Int32 [fd, listenerId, port, portIndex]. A bound UDP socket for the shard to serve; portIndex
 * selects its counter slot. The shard answers 'udp-bound' (or 'udp-failed').
 */
export const RECORD_UDP_SOCKET = 2;
export const UDP_SOCKET_FD = CONTROL_RECORD_FD;
export const UDP_SOCKET_LISTENER = 1;
export const UDP_SOCKET_PORT = 2;
export const UDP_SOCKET_PORT_INDEX = 3;
export const UDP_SOCKET_BYTES = 16;

/**
 * Payload: Int32 [fd, listenerId]. balance 'kernel': a duplicate of one of the listener's SO_REUSEPORT
 * listening sockets, for the shard to accept on; the coordinator keeps the socket itself, so that it
 * outlives the shard (a restarted or reloaded shard gets a new duplicate, and the connections queued on
 * the socket meanwhile wait for it instead of being reset). The shard answers 'listening' (or
 * 'listen-failed', having closed the fd).
 */
export const RECORD_LISTEN_SOCKET = 4;
export const LISTEN_SOCKET_FD = CONTROL_RECORD_FD;
export const LISTEN_SOCKET_LISTENER = 1;
export const LISTEN_SOCKET_BYTES = 8;

// Record types on the ICMP rings.
/**
 * Coordinator → shard: Float64 receivedAt (epoch ms, stamped as the raw socket read it, so the ring hop is
 * not in a round trip), then the IPv4 packet as received (8-byte aligned).
 */
export const RECORD_ICMP_PACKET = 1;
export const ICMP_PACKET_HEADER_BYTES = 8;
/** Shard → coordinator: Uint32 destination IPv4 address, reserved word, then the ICMP message. */
export const RECORD_ICMP_SEND = 1;
export const ICMP_SEND_DESTINATION = 0;
export const ICMP_SEND_HEADER_BYTES = 8;

// Record types on the ring mesh.
/** Payload: Int32 [listenerId, reserved], then the message bytes (8-byte aligned). */
export const RECORD_SHARD_MESSAGE = 1;
export const SHARD_MESSAGE_LISTENER = 0;
export const SHARD_MESSAGE_HEADER_BYTES = 8;

/** Coordinator → shard messages. */
export type CoordinatorMessage =
  /**
   * handoff 'transfer' (Node 24+): a connection Node accepted, moved to the shard with the message itself.
   * The one case where a connection travels by postMessage: that is the only way Node moves a socket.
   */
  | {
      readonly type: 'adopt';
      readonly listenerId: number;
      readonly addressBucket: number;
      readonly socket: Socket;
    }
  | { readonly type: 'drain'; readonly timeoutMs: number }
  /** engine.setSecureContext(): new credentials for a TLS listener's new connections. */
  | { readonly type: 'secure-context'; readonly listenerId: number; readonly tls: TlsSettings }
  /**
   * A rolling reload replaces this shard: stop taking work (the control ring, the mesh, ICMP, UDP ports,
   * 'kernel' sockets), adopt what is still in the control ring, say 'retired' (the replacement may take
   * the rings over now), then drain as for 'drain'.
   */
  | { readonly type: 'retire'; readonly timeoutMs: number }
  /** To a standby replacement, once the shard it replaces has retired: attach to the rings and serve. */
  | { readonly type: 'take-over' };

/** Shard → coordinator messages. */
export type ShardMessage =
  | { readonly type: 'ready' }
  /** A spare has imported its handler modules and waits for `become`. */
  | { readonly type: 'standing-by' }
  | { readonly type: 'listening'; readonly listenerId: number; readonly fd: number }
  | {
      readonly type: 'listen-failed';
      readonly listenerId: number;
      readonly fd: number;
      readonly error: SerializedError;
    }
  | { readonly type: 'start-failed'; readonly error: SerializedError }
  | { readonly type: 'handler-error'; readonly listenerId: number; readonly error: SerializedError }
  /** Something failed in the shard that is not the handler's doing (an AdoptError, a receive error). */
  | { readonly type: 'fault'; readonly listenerId: number; readonly error: SerializedError }
  | { readonly type: 'udp-bound'; readonly fd: number }
  | { readonly type: 'udp-failed'; readonly fd: number; readonly error: SerializedError }
  | { readonly type: 'drained'; readonly destroyed: number }
  | { readonly type: 'secure-context-set'; readonly listenerId: number }
  | { readonly type: 'secure-context-failed'; readonly listenerId: number; readonly error: SerializedError }
  /** A standby replacement has loaded its handlers and set its listeners up (see ShardInit.standby). */
  | { readonly type: 'prepared' }
  /** A retiring shard touches no ring any more: its replacement may take over. */
  | { readonly type: 'retired' };

/**
 * Per-shard counters in one SharedArrayBuffer, two 64-byte lines per shard (Int32 words), each written by
 * its shard only (`Atomics.add`) and read by the coordinator at any time without messages.
 *
 * | word | counter                                              |
 * |------|------------------------------------------------------|
 * | 0    | ADOPTED: handed-off connections the shard took over  |
 * | 1    | CLOSED: connections that have closed                 |
 * | 2    | HANDLER_ERRORS: handler throws / rejections          |
 * | 3    | REQUESTS: HTTP requests received                     |
 * | 4    | ADOPT_FAILED: handed-off fds that could not be used  |
 * | 5    | SOCKET_ERRORS: resets, broken pipes and the like     |
 * | 6    | ACCEPTED: connections it accepted itself ('kernel')  |
 * | 7    | SHARD_MESSAGES_OUT: sendToShard calls delivered      |
 * | 8    | SHARD_MESSAGES_IN: messages from other shards        |
 * | 9    | MESH_FULL: sendToShard refused, the ring was full    |
 * | 10   | IDLE_TIMEOUTS: connections ended by idleTimeoutMs    |
 * | 11   | HTTP_TIMEOUTS: 408s for slow headers or requests     |
 * | 12   | HTTP_BAD_REQUESTS: 400/431s for malformed requests   |
 * | 13   | KERNEL_REFUSED: 'kernel' accepts over the shard cap  |
 * | 14   | TLS_HANDSHAKES: TLS handshakes completed             |
 * | 15   | TLS_RESUMED: of those, sessions resumed (tickets)    |
 * | 16   | TLS_ERRORS: handshakes that failed or timed out      |
 * | 17   | H2_SESSIONS: HTTP/2 sessions started                 |
 * | 18   | H2_STREAMS: HTTP/2 streams (requests) received       |
 * | 19   | H2_SESSIONS_CUT: sessions ended for a protocol error or abuse (garbage, oversized headers, a reset flood) |
 *
 * The coordinator keeps its own count of connections it handed to each shard; open connections are that
 * count plus ACCEPTED minus CLOSED, which is exact even while handoffs are in flight (least-connections relies on it).
 */
export const COUNTER_ADOPTED = 0;
export const COUNTER_CLOSED = 1;
export const COUNTER_HANDLER_ERRORS = 2;
export const COUNTER_REQUESTS = 3;
export const COUNTER_ADOPT_FAILED = 4;
export const COUNTER_SOCKET_ERRORS = 5;
export const COUNTER_ACCEPTED = 6;
export const COUNTER_SHARD_MESSAGES_OUT = 7;
export const COUNTER_SHARD_MESSAGES_IN = 8;
export const COUNTER_MESH_FULL = 9;
export const COUNTER_IDLE_TIMEOUTS = 10;
export const COUNTER_HTTP_TIMEOUTS = 11;
export const COUNTER_HTTP_BAD_REQUESTS = 12;
export const COUNTER_KERNEL_REFUSED = 13;
export const COUNTER_TLS_HANDSHAKES = 14;
export const COUNTER_TLS_RESUMED = 15;
export const COUNTER_TLS_ERRORS = 16;
export const COUNTER_H2_SESSIONS = 17;
export const COUNTER_H2_STREAMS = 18;
export const COUNTER_H2_SESSIONS_CUT = 19;
export const COUNTER_WORDS_PER_SHARD = 32;

export function createShardCounters(shards: number): SharedArrayBuffer {
  return new SharedArrayBuffer(shards * COUNTER_WORDS_PER_SHARD * Int32Array.BYTES_PER_ELEMENT);
}

export function counterIndex(shardId: number, counter: number): number {
  return shardId * COUNTER_WORDS_PER_SHARD + counter;
}

/**
 * UDP counters, one 64-byte line of Float64 per (UDP port, shard) pair: slot `portIndex * shards + shardId`.
 * Each line has a single writer (the shard serving that port's socket), so plain stores suffice; the
 * coordinator sums the lines of a port (several shards serve one port with reusePort).
 *
 * | word | counter                                                  |
 * |------|----------------------------------------------------------|
 * | 0    | DATAGRAMS_IN                                             |
 * | 1    | BYTES_IN                                                 |
 * | 2    | DATAGRAMS_OUT (replies and sends accepted by the kernel) |
 * | 3    | BYTES_OUT                                                |
 * | 4    | OVERSIZED: larger than maxDatagram, dropped              |
 * | 5    | HANDLER_ERRORS                                           |
 * | 6    | SEND_ERRORS: sends the kernel refused (ECONNREFUSED ...) |
 * | 7    | PEER_UNREACHABLE: ICMP unreachables about our datagrams  |
 */
export const UDP_DATAGRAMS_IN = 0;
export const UDP_BYTES_IN = 1;
export const UDP_DATAGRAMS_OUT = 2;
export const UDP_BYTES_OUT = 3;
export const UDP_OVERSIZED = 4;
export const UDP_HANDLER_ERRORS = 5;
export const UDP_SEND_ERRORS = 6;
/** Counted by the shard that owns the port, from ICMP routed to it (needs engine.icmp()). */
export const UDP_PEER_UNREACHABLE = 7;
export const UDP_COUNTER_WORDS = 8;

/** The counts a UDP port publishes to its line (all but PEER_UNREACHABLE), by name. */
export interface UdpPortCounts {
  /** Every datagram received, the oversized ones included, and their bytes. */
  readonly datagramsIn: number;
  readonly bytesIn: number;
  /** Datagrams the kernel took for sending (replies and sends), and their bytes. */
  readonly datagramsOut: number;
  readonly bytesOut: number;
  /** Received datagrams longer than maxDatagram: dropped before the handler. */
  readonly oversized: number;
  /** Handler throws and rejections. */
  readonly handlerErrors: number;
  /**
   * Sends that failed or were dropped (unreachable peer, no buffer space, ...), and errors the kernel
   * reported about earlier sends.
   */
  readonly sendErrors: number;
}

export function createUdpCounters(ports: number, shards: number): SharedArrayBuffer {
  return new SharedArrayBuffer(
    Math.max(1, ports * shards) * UDP_COUNTER_WORDS * Float64Array.BYTES_PER_ELEMENT,
  );
}

export function udpCounterBase(portIndex: number, shards: number, shardId: number): number {
  return (portIndex * shards + shardId) * UDP_COUNTER_WORDS;
}
