import { InvalidOptionError } from '../errors.js';
import { allowEntries, HEADER_MAX_PROXY, HEADER_MIN_PROXY } from '../native/binding.js';
import { checkInteger } from '../validate.js';

/**
 * PROXY protocol (haproxy's proxy-protocol.txt, v1 and v2) on a stream listener behind a load balancer:
 * every connection must start with a header from one of the balancers in `from`, and handlers,
 * `maxConnectionsPerAddress`, `hash` balancing and stats see the client's address it gives.
 *
 * The coordinator reads the header natively before the handoff (so the balancer and the per-address cap
 * use the client's address), consuming exactly its bytes. A connection from anywhere else is refused at
 * once, before a byte is read; a missing, malformed or oversized header, a peer that closes first, or a
 * header not complete within `timeoutMs` closes the connection; each is counted (`stats().listeners[i].proxy`).
 */
export interface ProxyProtocolOptions {
  /** The balancers' addresses: IP literals or CIDR blocks (`10.0.0.0/8`, `fd00::/8`). Required. */
  readonly from: readonly string[];
  /** How long a header may take to arrive, from the accept. Default 5000 (the spec asks for at least 3 s). */
  readonly timeoutMs?: number;
  /** The longest v2 header accepted, TLVs included (v1 lines are at most 107 bytes). Default 1024. */
  readonly maxHeaderBytes?: number;
}

export interface ResolvedProxyProtocol {
  readonly from: readonly string[];
  /** `from` as the native reader's allowlist entries. */
  readonly allow: Uint8Array;
  readonly timeoutMs: number;
  readonly maxHeaderBytes: number;
}

export function resolveProxyProtocol(option: string, value: ProxyProtocolOptions): ResolvedProxyProtocol {
  if (typeof value !== 'object' || value === null || !Array.isArray(value.from) || value.from.length === 0)
    throw new InvalidOptionError(option, "must be { from: [the load balancers' addresses] }");
  const timeoutMs = checkInteger(`${option}.timeoutMs`, value.timeoutMs ?? 5_000, 1, 2 ** 31 - 1);
  const maxHeaderBytes = checkInteger(
    `${option}.maxHeaderBytes`,
    value.maxHeaderBytes ?? 1_024,
    HEADER_MIN_PROXY,
    HEADER_MAX_PROXY,
  );
  return {
    from: [...value.from],
    allow: allowEntries(value.from, `${option}.from`),
    timeoutMs,
    maxHeaderBytes,
  };
}
