/**
 * Every error sockshard raises on purpose. Each has a stable `code` (match on it, not on the message) and
 * context fields (`shardId`, `port`, `fd`, ...) where they apply. Errors from a syscall carry the errno
 * name (`EADDRINUSE`) as `code` and the syscall as `syscall`.
 *
 * Some errors must also be built-in error types (a record larger than the ring is a `RangeError`, as the
 * ring contract promises), and JS has single inheritance, so membership in the family is a brand checked
 * by `SockshardError[Symbol.hasInstance]`: `err instanceof SockshardError` holds for all of them.
 */

const kBrand = Symbol.for('sockshard.error');

export interface SockshardErrorContext {
  readonly shardId?: number;
  readonly port?: number;
  readonly fd?: number;
  readonly option?: string;
  readonly syscall?: string;
  readonly errno?: number;
  readonly cause?: unknown;
}

function brand(error: Error, code: string, context: SockshardErrorContext): void {
  Object.defineProperty(error, kBrand, { value: true });
  Object.assign(error, { code }, context);
}

export class SockshardError extends Error {
  declare readonly code: string;
  declare readonly shardId?: number;
  declare readonly port?: number;
  declare readonly fd?: number;
  declare readonly option?: string;
  declare readonly syscall?: string;
  declare readonly errno?: number;

  constructor(code: string, message: string, context: SockshardErrorContext = {}) {
    super(message, context.cause === undefined ? undefined : { cause: context.cause });
    this.name = new.target.name;
    brand(this, code, context);
  }
}

// Subclasses inherit this static, so it keeps ordinary prototype checks for them and uses the brand only for
// `instanceof SockshardError` itself (which must also hold for the RangeError-based errors below).
Object.defineProperty(SockshardError, Symbol.hasInstance, {
  value: function hasInstance(this: unknown, value: unknown): boolean {
    if (this !== SockshardError) return Function.prototype[Symbol.hasInstance].call(this, value);
    return typeof value === 'object' && value !== null && kBrand in value;
  },
});

/** A record or a request larger than a ring can ever hold. */
export class RingRecordTooLargeError extends RangeError {
  declare readonly code: 'ERR_RING_RECORD_TOO_LARGE';
  readonly length: number;
  readonly maxRecord: number;

  constructor(length: number, maxRecord: number) {
    super(`ring record of ${length} bytes exceeds this ring's maximum of ${maxRecord} bytes`);
    this.name = 'RingRecordTooLargeError';
    this.length = length;
    this.maxRecord = maxRecord;
    brand(this, 'ERR_RING_RECORD_TOO_LARGE', {});
  }
}

/** A SharedArrayBuffer that is not a ring of this layout version, or is too small for what it claims. */
export class RingLayoutError extends SockshardError {
  constructor(message: string) {
    super('ERR_RING_LAYOUT', message);
  }
}

/** An option that is missing, of the wrong type or out of range; `option` names it. */
export class InvalidOptionError extends SockshardError {
  constructor(option: string, message: string) {
    super('ERR_INVALID_OPTION', `${option}: ${message}`, { option });
  }
}

/** A ring used against its contract (for example `release()` with nothing peeked). */
export class RingStateError extends SockshardError {
  constructor(message: string) {
    super('ERR_RING_STATE', message);
  }
}
