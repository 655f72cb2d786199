/**
 * Messages between the HTTP benchmark's orchestrator (bench/http.ts) and its children: the servers under
 * test and the load generator. They travel over Node's child-process IPC channel (JSON), never over the
 * sockets being measured.
 */

/** A child that could not do what it was asked; the orchestrator turns it into a thrown Error. */
export interface Failed {
  readonly type: 'failed';
  readonly message: string;
}

/** What a server has served since it started; the orchestrator takes differences around a measurement. */
export interface ServerCounters {
  /** Requests per worker process (node:cluster), per shard (sockshard) or of the one thread. */
  readonly requests: readonly number[];
  /** Connections per worker, shard or thread. */
  readonly connections: readonly number[];
  /** Cumulative failure counters (client errors, handler errors, dropped connections...): all should stay 0. */
  readonly problems: Readonly<Record<string, number>>;
}

export type ServerRequest = { readonly type: 'counters' } | { readonly type: 'stop' };

export type ServerMessage =
  /** Answers on 127.0.0.1:port; `pids` are every process that serves (for CPU accounting). */
  | { readonly type: 'listening'; readonly port: number; readonly pids: readonly number[] }
  | ({ readonly type: 'counters' } & ServerCounters)
  /** Closed cleanly; the process exits right after. */
  | { readonly type: 'stopped'; readonly closeMs: number }
  | Failed;

/** One autocannon run. The same job shape, with the same settings, goes out for every contender. */
export interface LoadJob {
  readonly type: 'load';
  readonly url: string;
  readonly connections: number;
  readonly durationSeconds: number;
  readonly headers: Readonly<Record<string, string>>;
  /** A response with another body counts as a mismatch. */
  readonly expectBody: string;
  /** Keep every 2xx response time (keep-alive runs only: with `Connection: close` they are wrong). */
  readonly recordLatency: boolean;
}

export interface LatencySummary {
  readonly p50: number;
  readonly p99: number;
  readonly mean: number;
  readonly max: number;
  readonly count: number;
}

export interface LoadResult {
  readonly type: 'result';
  /** Measured by autocannon from its start to the sample tick after its deadline. */
  readonly durationSeconds: number;
  /** 2xx responses. */
  readonly ok: number;
  /** All responses, any status. */
  readonly completed: number;
  readonly sent: number;
  readonly non2xx: number;
  /** Connection errors (refused, reset...), timeouts included. */
  readonly errors: number;
  readonly timeouts: number;
  /** Responses whose body was not the expected one. */
  readonly mismatches: number;
  /** From our own record of autocannon's per-response times (µs resolution), in ms; null if not recorded. */
  readonly latencyMs: LatencySummary | null;
  /** autocannon's own histogram (whole milliseconds), kept for reference. */
  readonly autocannonLatencyMs: { readonly p50: number; readonly p99: number; readonly mean: number };
  /** CPU the generator used during this run (user + system, all its threads), in seconds. */
  readonly cpuSeconds: number;
}

export type GeneratorMessage = { readonly type: 'ready' } | LoadResult | Failed;
