/**
 * Builds ICMP echo requests in place: straight into a caller's Uint8Array at an offset (a ring record
 * reserved by a shard), with the checksum filled in, so the coordinator can hand the bytes to the raw socket
 * untouched. No IPv4 header: the kernel adds it.
 *
 * Echo data layout (sockshard's own; peers echo it back unchanged, RFC 792):
 *
 * | offset | size | field                                                            |
 * |--------|------|------------------------------------------------------------------|
 * | 0      | 8    | send timestamp, float64 big-endian, ms (when size >= 8)          |
 * | 8      | 4    | probe serial, uint32 big-endian (when size >= 12)                |
 * | 12     | rest | byte i = i & 0xff, iputils' default fill pattern                 |
 *
 * The serial is the probe's full count, of which the 16-bit sequence number is the low half: it lets the
 * ping tracker tell a reply to probe n from a stale reply to probe n - 65536 that carries the same sequence.
 */

import { InvalidOptionError } from '../errors.js';
import { checkInteger } from '../validate.js';
import { internetChecksum } from './checksum.js';
import {
  DEFAULT_ECHO_DATA,
  ICMP_CHECKSUM,
  ICMP_CODE,
  ICMP_ECHO_REQUEST,
  ICMP_HEADER,
  ICMP_IDENTIFIER,
  ICMP_SEQUENCE,
  ICMP_TYPE,
  MAX_ECHO_DATA,
  MAX_IDENTIFIER,
} from './layout.js';

export const ECHO_DATA_TIMESTAMP = 0;
export const ECHO_DATA_SERIAL = 8;
const TIMESTAMP_BYTES = 8;
const SERIAL_BYTES = 4;
const FILL_START = ECHO_DATA_SERIAL + SERIAL_BYTES;
const MAX_SERIAL = 0xffff_ffff;

export interface EchoRequestFields {
  /** 0..65535; routes the reply back to the shard that owns it. */
  readonly identifier: number;
  /** 0..65535. */
  readonly sequence: number;
  /** Echo data bytes (ping's `-s`), default 56. */
  readonly size?: number;
  /** Written into the data when `size >= 8` (any clock; the reply brings it back). */
  readonly timestamp?: number;
  /** The probe's full serial; its low 32 bits are written when `size >= 12`. */
  readonly serial?: number;
}

/** Bytes an echo request with `size` data bytes takes (ICMP header included). */
export function echoRequestLength(size: number = DEFAULT_ECHO_DATA): number {
  return ICMP_HEADER + size;
}

// One scratch word per thread, so that writing a float64 big-endian allocates nothing.
const scratch = new DataView(new ArrayBuffer(TIMESTAMP_BYTES));

/**
 * Writes an echo request into `target` at `offset` and returns its length in bytes. Throws
 * `InvalidOptionError` for an identifier, sequence or size out of range, or a target too small.
 */
export function writeEchoRequest(target: Uint8Array, offset: number, fields: EchoRequestFields): number {
  const { identifier, sequence, size = DEFAULT_ECHO_DATA, timestamp = 0, serial = 0 } = fields;
  checkInteger('identifier', identifier, 0, MAX_IDENTIFIER);
  checkInteger('sequence', sequence, 0, MAX_IDENTIFIER);
  checkInteger('size', size, 0, MAX_ECHO_DATA);
  const length = ICMP_HEADER + size;
  if (!Number.isInteger(offset) || offset < 0 || offset + length > target.length) {
    throw new InvalidOptionError(
      'target',
      `an echo request of ${length} bytes does not fit at offset ${offset} of ${target.length} bytes`,
    );
  }
  target[offset + ICMP_TYPE] = ICMP_ECHO_REQUEST;
  target[offset + ICMP_CODE] = 0;
  target[offset + ICMP_CHECKSUM] = 0;
  target[offset + ICMP_CHECKSUM + 1] = 0;
  target[offset + ICMP_IDENTIFIER] = identifier >>> 8;
  target[offset + ICMP_IDENTIFIER + 1] = identifier & 0xff;
  target[offset + ICMP_SEQUENCE] = sequence >>> 8;
  target[offset + ICMP_SEQUENCE + 1] = sequence & 0xff;

  const data = offset + ICMP_HEADER;
  let fillFrom = 0;
  if (size >= TIMESTAMP_BYTES) {
    scratch.setFloat64(0, timestamp);
    for (let i = 0; i < TIMESTAMP_BYTES; i++) target[data + ECHO_DATA_TIMESTAMP + i] = scratch.getUint8(i);
    fillFrom = TIMESTAMP_BYTES;
  }
  if (size >= FILL_START) {
    const low = (serial % (MAX_SERIAL + 1)) >>> 0;
    target[data + ECHO_DATA_SERIAL] = low >>> 24;
    target[data + ECHO_DATA_SERIAL + 1] = (low >>> 16) & 0xff;
    target[data + ECHO_DATA_SERIAL + 2] = (low >>> 8) & 0xff;
    target[data + ECHO_DATA_SERIAL + 3] = low & 0xff;
    fillFrom = FILL_START;
  }
  for (let i = fillFrom; i < size; i++) target[data + i] = i & 0xff;

  const checksum = internetChecksum(target, offset, length);
  target[offset + ICMP_CHECKSUM] = checksum >>> 8;
  target[offset + ICMP_CHECKSUM + 1] = checksum & 0xff;
  return length;
}

/** The timestamp written by `writeEchoRequest`, from echo data; NaN when the data is too short. */
export function readEchoTimestamp(data: Uint8Array): number {
  if (data.length < TIMESTAMP_BYTES) return Number.NaN;
  for (let i = 0; i < TIMESTAMP_BYTES; i++) scratch.setUint8(i, data[ECHO_DATA_TIMESTAMP + i]!);
  return scratch.getFloat64(0);
}

/** The low 32 bits of the serial written by `writeEchoRequest`; -1 when the data is too short. */
export function readEchoSerial(data: Uint8Array): number {
  if (data.length < FILL_START) return -1;
  const at = ECHO_DATA_SERIAL;
  return ((data[at]! << 24) | (data[at + 1]! << 16) | (data[at + 2]! << 8) | data[at + 3]!) >>> 0;
}
