/**
 * The only module the coordinator (src/engine) and the shards (src/workers) share: the messages they
 * exchange, the record types on their rings and the layout of the shared counters.
 *
 * Data path: the coordinator writes one record per accepted connection into the shard's control ring
 * (coordinator = producer, shard = consumer). Control path: `postMessage` for rare events (start, ready,
 * drain, errors), which never carry payload bytes or fds.
 */

/** The kinds of listener a shard can serve. */
export type ListenerKind = 'tcp' | 'http';

/** What a shard needs to know about one listener (all structured-clone safe). */
export interface ListenerSpec {
  readonly id: number;
  readonly kind: ListenerKind;
  /** The handler module, as a file: URL string. */
  readonly handler: string;
  /** `node:http` server options for `http` listeners. */
  readonly http?: HttpServerSettings;
  /** With balance 'kernel' every shard listens on its own SO_REUSEPORT socket for this address. */
  readonly kernel?: { readonly host: string; readonly port: number; readonly backlog: number };
}

/** The `node:http` server settings a shard applies (a plain-data subset of `http.ServerOptions`). */
export interface HttpServerSettings {
  readonly keepAliveTimeout?: number;
  readonly headersTimeout?: number;
  readonly requestTimeout?: number;
  readonly maxHeaderSize?: number;
  readonly maxRequestsPerSocket?: number;
}

/** `workerData` of a shard. */
export interface ShardInit {
  readonly shardId: number;
  readonly shards: number;
  readonly control: SharedArrayBuffer;
  readonly counters: SharedArrayBuffer;
  readonly listeners: readonly ListenerSpec[];
}

// Record types on a shard's control ring.
/** Payload: Int32 [fd, listenerId]. The shard adopts the fd; from then on it owns it. */
export const RECORD_HANDOFF = 1;
export const HANDOFF_FD = 0;
export const HANDOFF_LISTENER = 1;
export const HANDOFF_BYTES = 8;

/** Coordinator → shard messages. */
export type CoordinatorMessage =
  | { readonly type: 'drain'; readonly timeoutMs: number }
  /** balance 'kernel': listen now (shard 0 first, on port 0 it picks the port the others then take). */
  | { readonly type: 'listen'; readonly listenerId: number; readonly port: number };

/** Shard → coordinator messages. */
export type ShardMessage =
  | { readonly type: 'ready' }
  | { readonly type: 'listening'; readonly listenerId: number; readonly port: number }
  | { readonly type: 'listen-failed'; readonly listenerId: number; readonly error: SerializedError }
  | { readonly type: 'start-failed'; readonly error: SerializedError }
  | { readonly type: 'handler-error'; readonly listenerId: number; readonly error: SerializedError }
  | { readonly type: 'drained'; readonly destroyed: number };

/** An error as it crosses threads: structured clone keeps message and stack, not class or own fields. */
export interface SerializedError {
  readonly name: string;
  readonly message: string;
  readonly stack?: string;
  readonly code?: string;
  readonly errno?: number;
  readonly syscall?: string;
  readonly port?: number;
  readonly module?: string;
}

export function serializeError(error: unknown, extra: Partial<SerializedError> = {}): SerializedError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error), ...extra };
  const fields = error as Error & Partial<SerializedError>;
  const out: Record<string, unknown> = { name: error.name, message: error.message, stack: error.stack };
  for (const key of ['code', 'errno', 'syscall', 'port', 'module'] as const) {
    if (fields[key] !== undefined) out[key] = fields[key];
  }
  return { ...(out as unknown as SerializedError), ...extra };
}

/**
 * Per-shard counters in one SharedArrayBuffer, one 64-byte line per shard (Int32 words), each written by
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
export const COUNTER_WORDS_PER_SHARD = 16;

export function createShardCounters(shards: number): SharedArrayBuffer {
  return new SharedArrayBuffer(shards * COUNTER_WORDS_PER_SHARD * 4);
}

export function counterIndex(shardId: number, counter: number): number {
  return shardId * COUNTER_WORDS_PER_SHARD + counter;
}
