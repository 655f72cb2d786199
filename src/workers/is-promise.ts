/** A thenable, as a handler's async result: its rejection must be caught, not left unhandled. */
export function isPromise(value: unknown): value is Promise<unknown> {
  return typeof (value as Promise<unknown> | undefined)?.then === 'function';
}
