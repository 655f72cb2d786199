/**
 * What the engine tells a load balancer (`engine.health()`, and GET on the health path).
 *
 * - `ready`: serving; send traffic.
 * - `draining`: a close, a rolling reload or a process hand-over has started. The engine still accepts
 *   (a close keeps accepting for `health.drainDelayMs` before it refuses anything), but a balancer should
 *   stop sending new connections here now, so that none is sent to a socket about to close.
 * - `down`: not serving: starting, closed, or no shard left to serve.
 *
 * The HTTP answer is 200 for `ready` and 503 otherwise, with this object as JSON, which is what HAProxy's
 * `option httpchk` + `http-check expect status 200`, nginx's and Kubernetes' readiness probes read.
 */
export type HealthStatus = 'ready' | 'draining' | 'down';

export interface Health {
  readonly status: HealthStatus;
  /** In a few words: serving, starting, closing, closed, reloading, handing over, no shard serving. */
  readonly reason: string;
  /** Shards taking connections, of all shards. */
  readonly shardsServing: number;
  readonly shards: number;
}

/** The HTTP status a health check reads. */
export function healthStatusCode(health: Health): number {
  return health.status === 'ready' ? 200 : 503;
}
