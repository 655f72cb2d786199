/**
 * IP addresses as numbers (what the hot paths compare, use as map keys and write into packets and batch
 * records) and as text (what users read, Node's APIs and raw-socket take). The one place sockshard parses
 * and formats them; every parser validates. Pure: no resolver, no sockets.
 *
 * An IPv4 address is an unsigned 32-bit number (127.0.0.1 is 0x7f000001). An IPv6 address is four 32-bit
 * words, each a big-endian group pair read as a number (::1 is 0, 0, 0, 1), in the Int32 form that an
 * Int32Array stores (`>>> 0` for the unsigned value).
 */
import { isIP } from 'node:net';

/** An IPv6 address as four big-endian 32-bit words (Int32). */
export type Ipv6Words = readonly [number, number, number, number];

/**
 * An address of either family in the native addon's layout (PROXY headers, allowlists, UDP batch records):
 * an IPv4 address is its number in the first word (Int32) and three zero words.
 */
export interface IpAddress {
  readonly family: 4 | 6;
  readonly words: Ipv6Words;
}

/** An address block: `prefix` leading bits of `words` (`10.0.0.0/8`; a bare address is a full-length block). */
export interface IpBlock extends IpAddress {
  readonly prefix: number;
}

const DOTTED_QUAD = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const LOOPBACK_NET = 127;
const BYTE = 0xff;
const GROUP = 0xffff;
const GROUPS = 8;

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
  bytes[offset + 1] = (address >>> 16) & BYTE;
  bytes[offset + 2] = (address >>> 8) & BYTE;
  bytes[offset + 3] = address & BYTE;
}

/** Dotted-quad text of a 32-bit address (signed or unsigned). */
export function formatIpv4(address: number): string {
  return `${address >>> 24}.${(address >>> 16) & BYTE}.${(address >>> 8) & BYTE}.${address & BYTE}`;
}

/** The unsigned address of a dotted quad (`'127.0.0.1'`), or -1 when `text` is not exactly one. */
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

/**
 * RFC 5952 text, as libuv's inet_ntop6 (and so node:dgram) writes it: lower-case hex, the longest run of
 * two or more zero groups (the first of equal ones) as `::`, and a dotted tail for IPv4-mapped
 * (`::ffff:1.2.3.4`) and IPv4-compatible (`::1.2.3.4`) addresses. (Its third case, a run of seven, is
 * unreachable there, so `::2` stays `::2`.) Checked against net.SocketAddress on random addresses.
 */
export function formatIpv6(words: Ipv6Words): string {
  const groups: number[] = [];
  for (const word of words) groups.push((word >>> 16) & GROUP, word & GROUP);
  let bestStart = -1;
  let bestLength = 0;
  for (let i = 0; i < GROUPS; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let end = i;
    while (end < GROUPS && groups[end] === 0) end++;
    if (end - i > bestLength) {
      bestStart = i;
      bestLength = end - i;
    }
    i = end;
  }
  if (bestLength < 2) bestStart = -1;
  const embeddedIpv4 = bestStart === 0 && (bestLength === 6 || (bestLength === 5 && groups[5] === GROUP));
  let text = '';
  for (let i = 0; i < GROUPS; i++) {
    if (i === bestStart) {
      text += i === 0 ? '::' : ':';
      i += bestLength - 1;
      continue;
    }
    if (i === 6 && embeddedIpv4) return text + formatIpv4(words[3]);
    text += groups[i]!.toString(16) + (i < GROUPS - 1 ? ':' : '');
  }
  return text;
}

/**
 * The words of an IPv6 literal in any spelling (`::1`, `0:0:0:0:0:0:0:1`, `::ffff:127.0.0.1`), or undefined
 * when `text` is not one; a zone id (`fe80::1%eth0`) is refused: the words cannot carry it.
 */
export function parseIpv6(text: string): Ipv6Words | undefined {
  if (isIP(text) !== 6 || text.includes('%')) return undefined;
  const gap = text.indexOf('::');
  const head = groupsOf(gap === -1 ? text : text.slice(0, gap));
  const tail = gap === -1 ? [] : groupsOf(text.slice(gap + 2));
  const groups = [...head, ...new Array<number>(GROUPS - head.length - tail.length).fill(0), ...tail];
  const words: [number, number, number, number] = [0, 0, 0, 0];
  for (let i = 0; i < words.length; i++) words[i] = (groups[2 * i]! << 16) | groups[2 * i + 1]! | 0;
  return words;
}

/** The 16-bit groups of one side of `::` (already validated by isIP); a dotted IPv4 tail is two groups. */
function groupsOf(part: string): number[] {
  if (part === '') return [];
  const groups: number[] = [];
  for (const piece of part.split(':')) {
    if (piece.includes('.')) {
      const address = parseIpv4(piece);
      groups.push(address >>> 16, address & GROUP);
    } else {
      groups.push(Number.parseInt(piece, 16));
    }
  }
  return groups;
}

/** An IPv4 or IPv6 literal (no zone id, no name) in the addon's layout, or undefined when `text` is not one. */
export function parseIp(text: string): IpAddress | undefined {
  const ipv4 = parseIpv4(text);
  if (ipv4 >= 0) return { family: 4, words: [ipv4 | 0, 0, 0, 0] };
  const words = parseIpv6(text);
  return words === undefined ? undefined : { family: 6, words };
}

/** Text of an address in the addon's layout. */
export function formatIp(address: IpAddress): string {
  return address.family === 4 ? formatIpv4(address.words[0]) : formatIpv6(address.words);
}

const PREFIX_DIGITS = /^\d{1,3}$/;

/** A CIDR block (`10.0.0.0/8`, `fd00::/8`) or a bare literal (its full length), or undefined when `text` is neither. */
export function parseIpBlock(text: string): IpBlock | undefined {
  const slash = text.indexOf('/');
  const address = parseIp(slash === -1 ? text : text.slice(0, slash));
  if (address === undefined) return undefined;
  const width = address.family === 4 ? 32 : 128;
  if (slash === -1) return { ...address, prefix: width };
  const bits = text.slice(slash + 1);
  const prefix = Number(bits);
  if (!PREFIX_DIGITS.test(bits) || prefix > width) return undefined;
  return { ...address, prefix };
}
