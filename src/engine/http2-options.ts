import { InvalidOptionError } from '../errors.js';
import type { Http2Settings } from '../protocol.js';
import { checkBoolean, checkInteger } from '../validate.js';

/** node:http2 settings of an `engine.http2()` listener, with the abuse limits (see http2-listener.ts). */
export interface Http2Tuning {
  /** Also serve HTTP/1.1 clients on a TLS listener (ALPN picks). Default false. */
  readonly allowHTTP1?: boolean;
  /** SETTINGS_MAX_CONCURRENT_STREAMS. Default 100. */
  readonly maxConcurrentStreams?: number;
  /** SETTINGS_MAX_HEADER_LIST_SIZE in bytes: a larger header block ends the session. Default 65536. */
  readonly maxHeaderListSize?: number;
  /** MiB a session may buffer (node:http2's maxSessionMemory). Default 10. */
  readonly maxSessionMemory?: number;
  /** Invalid frames a session may send before it is cut off. Default 100 (node:http2's: 1000). */
  readonly maxSessionInvalidFrames?: number;
  /** Refused streams a session may cause before it is cut off. Default 100. */
  readonly maxSessionRejectedStreams?: number;
  /** Streams a client may reset in `resetWindowMs` before its session is cut off (rapid reset). Default 200. */
  readonly maxResetsPerWindow?: number;
  /** Default 1000. */
  readonly resetWindowMs?: number;
  /**
   * A session whose connection carried no byte either way for this long is closed and counted as an idle
   * timeout; a sweep checks four times per period, so it ends between 1 and 1.25 times this after its
   * last traffic. Default 120000; 0: never.
   */
  readonly sessionIdleTimeoutMs?: number;
}

export function resolveHttp2Settings(prefix: string, options: Http2Tuning, secure: boolean): Http2Settings {
  const allowHTTP1 = checkBoolean(`${prefix}.allowHTTP1`, options.allowHTTP1 ?? false);
  if (allowHTTP1 && !secure)
    throw new InvalidOptionError(
      `${prefix}.allowHTTP1`,
      'needs TLS (h2c has no HTTP/1.1 upgrade here): give key and cert',
    );
  const max = 2 ** 31 - 1;
  return {
    allowHTTP1,
    maxConcurrentStreams: checkInteger(
      `${prefix}.maxConcurrentStreams`,
      options.maxConcurrentStreams ?? 100,
      1,
      2 ** 32 - 1,
    ),
    maxHeaderListSize: checkInteger(
      `${prefix}.maxHeaderListSize`,
      options.maxHeaderListSize ?? 65_536,
      1024,
      max,
    ),
    maxSessionMemory: checkInteger(`${prefix}.maxSessionMemory`, options.maxSessionMemory ?? 10, 1, 1024),
    maxSessionInvalidFrames: checkInteger(
      `${prefix}.maxSessionInvalidFrames`,
      options.maxSessionInvalidFrames ?? 100,
      0,
      max,
    ),
    maxSessionRejectedStreams: checkInteger(
      `${prefix}.maxSessionRejectedStreams`,
      options.maxSessionRejectedStreams ?? 100,
      0,
      max,
    ),
    maxResetsPerWindow: checkInteger(
      `${prefix}.maxResetsPerWindow`,
      options.maxResetsPerWindow ?? 200,
      1,
      max,
    ),
    resetWindowMs: checkInteger(`${prefix}.resetWindowMs`, options.resetWindowMs ?? 1_000, 1, max),
    sessionIdleTimeoutMs: checkInteger(
      `${prefix}.sessionIdleTimeoutMs`,
      options.sessionIdleTimeoutMs ?? 120_000,
      0,
      max,
    ),
  };
}
