import { HandlerLoadError } from '../errors.js';
import type { ListenerSpec } from '../protocol.js';
import { isTypeScriptModule, prepareImport, typeScriptAdvice } from '../typescript-modules.js';
import type { ListenerKindModule } from './served-listener.js';

/** Imports a listener's handler module in this shard and checks that its default export fits the kind. */
export async function loadHandler(spec: ListenerSpec, kind: ListenerKindModule): Promise<object> {
  let module: { default?: unknown };
  try {
    await prepareImport(spec.handler);
    module = (await import(spec.handler)) as { default?: unknown };
  } catch (error) {
    const typeScript =
      (error as NodeJS.ErrnoException).code === 'ERR_UNKNOWN_FILE_EXTENSION' &&
      isTypeScriptModule(spec.handler);
    const reason = typeScript ? typeScriptAdvice() : `could not be imported: ${(error as Error).message}`;
    throw new HandlerLoadError(spec.handler, reason, error);
  }
  let handler = module.default;
  if (kind.bareFunction !== undefined && typeof handler === 'function')
    handler = { [kind.bareFunction]: handler };
  const fits =
    typeof handler === 'object' &&
    handler !== null &&
    kind.entryPoints.some((entry) => typeof (handler as Record<string, unknown>)[entry] === 'function');
  if (!fits) {
    throw new HandlerLoadError(
      spec.handler,
      `must export default ${kind.defineHelper}({ ${kind.entryPoints[0]}(...) { ... } }) for a ${spec.kind} listener`,
    );
  }
  return handler as object;
}
