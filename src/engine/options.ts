import { isIP } from 'node:net';
import os from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { InvalidOptionError } from '../errors.js';
import type { HttpServerSettings } from '../protocol.js';

/**
 * How the coordinator picks a shard for each accepted connection.
 * - `least-connections` (default): the shard with the fewest open connections (handed off and not closed).
 * - `round-robin`: each shard in turn.
 * - `hash`: by client IP address, so one client always lands on the same shard (affinity).
 * - `kernel`: no coordinator hop: every shard listens on its own SO_REUSEPORT socket and the kernel spreads
 *   connections by their 4-tuple.
 */
export type BalanceStrategy = 'least-connections' | 'round-robin' | 'hash' | 'kernel';

export const BALANCE_STRATEGIES: readonly BalanceStrategy[] = [
  'least-connections',
  'round-robin',
  'hash',
  'kernel',
];

export interface EngineOptions {
  /** Shard worker threads. Default: `os.availableParallelism()`. */
  readonly shards?: number;
  /** Bytes in each shard's control ring (handoff records are 16 bytes). Default 64 KiB. */
  readonly controlRingBytes?: number;
}

/** A handler module: a `file:` URL, or a path (relative paths resolve against the current directory). */
export type HandlerModule = URL | string;

export interface TcpOptions {
  /** An IP address literal to listen on. Default `127.0.0.1`; `::` is dual-stack, `::1` IPv6 loopback. */
  readonly host?: string;
  /** 0 picks a free port; read it back from `engine.addresses()` after `start()`. */
  readonly port: number;
  readonly handler: HandlerModule;
  /** Default `least-connections`. */
  readonly balance?: BalanceStrategy;
  /** listen(2) backlog. Default 511. */
  readonly backlog?: number;
}

export interface HttpOptions extends TcpOptions, HttpServerSettings {}

export interface ResolvedEngineOptions {
  readonly shards: number;
  readonly controlRingBytes: number;
}

export interface ResolvedListener {
  readonly id: number;
  readonly kind: 'tcp' | 'http';
  readonly host: string;
  readonly port: number;
  readonly handler: string;
  readonly balance: BalanceStrategy;
  readonly backlog: number;
  readonly http?: HttpServerSettings;
}

function integer(option: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidOptionError(option, `must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
  return value;
}

export function resolveEngineOptions(options: EngineOptions = {}): ResolvedEngineOptions {
  if (typeof options !== 'object' || options === null)
    throw new InvalidOptionError('options', 'must be an object');
  const controlRingBytes = integer('controlRingBytes', options.controlRingBytes ?? 1 << 16, 1024, 1 << 26);
  if ((controlRingBytes & (controlRingBytes - 1)) !== 0) {
    throw new InvalidOptionError('controlRingBytes', `must be a power of two, got ${controlRingBytes}`);
  }
  return {
    shards: integer('shards', options.shards ?? os.availableParallelism(), 1, 256),
    controlRingBytes,
  };
}

function handlerUrl(option: string, value: unknown): string {
  if (value instanceof URL) {
    if (value.protocol !== 'file:')
      throw new InvalidOptionError(option, `must be a file: URL, got ${value.href}`);
    return value.href;
  }
  if (typeof value !== 'string' || value === '')
    throw new InvalidOptionError(option, 'must be a URL or a path');
  if (value.startsWith('file:')) return new URL(value).href;
  return pathToFileURL(isAbsolute(value) ? value : resolve(value)).href;
}

const HTTP_SETTINGS = [
  'keepAliveTimeout',
  'headersTimeout',
  'requestTimeout',
  'maxHeaderSize',
  'maxRequestsPerSocket',
] as const;

export function resolveListener(
  id: number,
  kind: 'tcp' | 'http',
  options: TcpOptions | HttpOptions,
): ResolvedListener {
  const prefix = `${kind}.`;
  if (typeof options !== 'object' || options === null)
    throw new InvalidOptionError(kind, 'options must be an object');
  const host = options.host ?? '127.0.0.1';
  if (typeof host !== 'string' || isIP(host) === 0) {
    throw new InvalidOptionError(
      `${prefix}host`,
      `must be an IPv4 or IPv6 address literal, got ${String(host)}`,
    );
  }
  const balance = options.balance ?? 'least-connections';
  if (!BALANCE_STRATEGIES.includes(balance)) {
    throw new InvalidOptionError(
      `${prefix}balance`,
      `must be one of ${BALANCE_STRATEGIES.join(', ')}, got ${String(balance)}`,
    );
  }
  let http: HttpServerSettings | undefined;
  if (kind === 'http') {
    const settings: Record<string, number> = {};
    for (const key of HTTP_SETTINGS) {
      const value = (options as HttpOptions)[key];
      if (value !== undefined) settings[key] = integer(`${prefix}${key}`, value, 0, 2 ** 31 - 1);
    }
    http = settings;
  }
  return {
    id,
    kind,
    host,
    port: integer(`${prefix}port`, options.port, 0, 65_535),
    handler: handlerUrl(`${prefix}handler`, options.handler),
    balance,
    backlog: integer(`${prefix}backlog`, options.backlog ?? 511, 1, 65_535),
    ...(http === undefined ? {} : { http }),
  };
}
