import { HandlerLoadError } from '../errors.js';
import type { HttpHandler, IcmpHandler, TcpHandler, UdpHandler } from '../handler.js';
import type { ListenerSpec } from '../protocol.js';

export type AnyHandler = TcpHandler | HttpHandler | UdpHandler | IcmpHandler;

/** The functions a handler of each kind must have at least one of. */
const ENTRY_POINTS = {
  tcp: ['connection'],
  http: ['request'],
  udp: ['message'],
  icmp: ['echoReply', 'echoRequest', 'unreachable', 'timeExceeded', 'other', 'setup', 'shardMessage'],
} as const;
const HELPERS = {
  tcp: 'defineTcpHandler',
  http: 'defineHttpHandler',
  udp: 'defineUdpHandler',
  icmp: 'defineIcmpHandler',
} as const;

/** Imports a listener's handler module in this shard and checks that its default export fits the kind. */
export async function loadHandler(spec: ListenerSpec): Promise<AnyHandler> {
  let module: { default?: unknown };
  try {
    module = (await import(spec.handler)) as { default?: unknown };
  } catch (error) {
    throw new HandlerLoadError(spec.handler, `could not be imported: ${(error as Error).message}`, error);
  }
  let handler = module.default;
  if (spec.kind === 'http' && typeof handler === 'function') handler = { request: handler };
  const entries: readonly string[] = ENTRY_POINTS[spec.kind];
  const fits =
    typeof handler === 'object' &&
    handler !== null &&
    entries.some((entry) => typeof (handler as Record<string, unknown>)[entry] === 'function');
  if (!fits) {
    throw new HandlerLoadError(
      spec.handler,
      `must export default ${HELPERS[spec.kind]}({ ${entries[0]}(...) { ... } }) for a ${spec.kind} listener`,
    );
  }
  return handler as AnyHandler;
}
