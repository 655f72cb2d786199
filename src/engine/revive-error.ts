import type { SerializedError } from '../errors.js';
import { HandlerError, HandlerLoadError, SockshardError } from '../errors.js';

/**
 * Rebuilds an error that crossed from a shard (structured clone keeps only plain fields) as the typed
 * error it stands for: a handler module that could not load, a failed syscall (code = errno name, with
 * `syscall` and `errno`, so `instanceof SyscallError` holds), or else a handler's own error.
 */
export function reviveError(
  error: SerializedError,
  shardId: number,
  context: { readonly listenerId?: number; readonly port?: number } = {},
): SockshardError {
  if (error.code === 'ERR_HANDLER_LOAD' && error.module !== undefined) {
    return new HandlerLoadError(error.module, error.reason ?? error.message, undefined, shardId);
  }
  if (error.code !== undefined && error.syscall !== undefined && error.errno !== undefined) {
    const port = context.port ?? error.port;
    return new SockshardError(error.code, error.message, {
      shardId,
      syscall: error.syscall,
      errno: error.errno,
      ...(port === undefined ? {} : { port }),
    });
  }
  return new HandlerError(error, shardId, context.listenerId);
}
