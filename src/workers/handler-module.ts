import { HandlerLoadError } from '../errors.js';
import type { HttpHandler, TcpHandler, UdpHandler } from '../handler.js';
import type { ListenerSpec } from '../protocol.js';

const ENTRY_POINTS = { tcp: 'connection', http: 'request', udp: 'message' } as const;
const HELPERS = { tcp: 'defineTcpHandler', http: 'defineHttpHandler', udp: 'defineUdpHandler' } as const;

/** Imports a listener's handler module in this shard and checks that its default export fits the kind. */
export async function loadHandler(spec: ListenerSpec): Promise<TcpHandler | HttpHandler | UdpHandler> {
  let module: { default?: unknown };
  try {
    module = (await import(spec.handler)) as { default?: unknown };
  } catch (error) {
    throw new HandlerLoadError(spec.handler, `could not be imported: ${(error as Error).message}`, error);
  }
  let handler = module.default;
  if (spec.kind === 'http' && typeof handler === 'function') handler = { request: handler };
  const entry = ENTRY_POINTS[spec.kind];
  if (
    typeof handler !== 'object' ||
    handler === null ||
    typeof (handler as Record<string, unknown>)[entry] !== 'function'
  ) {
    const helper = HELPERS[spec.kind];
    throw new HandlerLoadError(
      spec.handler,
      `must export default ${helper}({ ${entry}(...) { ... } }) for a ${spec.kind} listener`,
    );
  }
  return handler as TcpHandler | HttpHandler | UdpHandler;
}
