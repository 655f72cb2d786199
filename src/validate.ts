/** Checks of option values, with the one wording every module's `InvalidOptionError`s use. */
import { isIP } from 'node:net';
import { InvalidOptionError } from './errors.js';

/** `value` if it is an integer from `min` to `max`; else throws InvalidOptionError naming `option`. */
export function checkInteger(option: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidOptionError(option, `must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
  return value;
}

/** `value` if it is a boolean; else throws InvalidOptionError naming `option`. */
export function checkBoolean(option: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw new InvalidOptionError(option, 'must be a boolean');
  return value;
}

/**
 * `value` if it is an IPv4 or IPv6 address literal (nothing here resolves names); else throws. A zone id
 * (`fe80::1%eth0`) passes isIP, and Node's own sockets take it, but not inet_pton, which the native addon
 * uses: `allowZoneId` false refuses it.
 */
export function checkIpLiteral(option: string, value: unknown, allowZoneId = true): string {
  if (typeof value !== 'string' || isIP(value) === 0 || (!allowZoneId && value.includes('%'))) {
    throw new InvalidOptionError(
      option,
      `must be an IPv4 or IPv6 address literal, got ${JSON.stringify(value)}`,
    );
  }
  return value;
}
