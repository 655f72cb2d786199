/**
 * IPv4 addresses as unsigned 32-bit numbers (what the hot paths compare and use as map keys) and as dotted
 * quads (what users read and raw-socket's send() takes). Pure: no resolver, no sockets.
 */

const DOTTED_QUAD = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const LOOPBACK_NET = 127;

/** The big-endian address at `offset` as an unsigned 32-bit number. */
export function readIpv4(bytes: Uint8Array, offset: number): number {
  return (
    ((bytes[offset]! << 24) | (bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!) >>>
    0
  );
}

/** Writes `address` big-endian at `offset`. */
export function writeIpv4(bytes: Uint8Array, offset: number, address: number): void {
  bytes[offset] = address >>> 24;
  bytes[offset + 1] = (address >>> 16) & 0xff;
  bytes[offset + 2] = (address >>> 8) & 0xff;
  bytes[offset + 3] = address & 0xff;
}

export function formatIpv4(address: number): string {
  return `${address >>> 24}.${(address >>> 16) & 0xff}.${(address >>> 8) & 0xff}.${address & 0xff}`;
}

/** The address of a dotted quad (`'127.0.0.1'`), or -1 when `text` is not exactly one. */
export function parseIpv4(text: string): number {
  const match = DOTTED_QUAD.exec(text);
  if (match === null) return -1;
  let address = 0;
  for (let i = 1; i <= 4; i++) {
    const part = match[i]!;
    const octet = Number(part);
    // Leading zeros are refused: inet_aton would read them as octal.
    if (octet > 255 || (part.length > 1 && part[0] === '0')) return -1;
    address = address * 256 + octet;
  }
  return address;
}

/** 127.0.0.0/8: every address in it is this host's. */
export function isLoopbackIpv4(address: number): boolean {
  return address >>> 24 === LOOPBACK_NET;
}
