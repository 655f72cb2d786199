/**
 * An incremental parser of Redis requests (RESP2): feed it whatever each `data` event brings and it returns
 * every complete command in it, in order. Many commands in one chunk come out together (pipelining); a
 * command cut anywhere, even inside a length line or before a final CRLF, waits for the next chunk.
 *
 * Requests come in two forms:
 *   multibulk  *<argc>\r\n  then argc times  $<length>\r\n<bytes>\r\n   (what clients send)
 *   inline     PING\r\n  (words split on spaces; what redis-benchmark's PING_INLINE and telnet send)
 *
 * A protocol error (a length that is not a number, a bulk string without its CRLF, a line or value over
 * the limits) ends parsing for good: the server answers `-ERR Protocol error` and closes, as Redis does.
 */

/** One command: its name and arguments, as views into the received bytes (copy what you keep). */
export type RespCommand = Buffer[];

export interface ParseResult {
  readonly commands: RespCommand[];
  /** Set when the input is not RESP; the commands before the error are still valid. */
  readonly error?: string;
}

/** Limits that keep one client from making a shard buffer without end. */
export const MAX_ARGUMENTS = 1024 * 1024;
export const MAX_BULK_BYTES = 16 * 1024 * 1024;
export const MAX_INLINE_BYTES = 64 * 1024;
/** `*` or `$` plus up to 20 digits and CRLF: anything longer without a CRLF is not a length line. */
const MAX_LENGTH_LINE = 32;

const CR = 0x0d;
const LF = 0x0a;
const ASTERISK = 0x2a;
const DOLLAR = 0x24;
const SPACE = 0x20;
const TAB = 0x09;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;
const MINUS = 0x2d;

/**
 * The buffer ends before the command does. `need`: the absolute offset the buffer must reach before another
 * try can succeed (known inside a bulk string; 0 when unknown), so a large value arriving in many chunks
 * is gathered and joined once instead of being re-joined and re-parsed on every chunk.
 */
interface Incomplete {
  readonly need: number;
}
const INCOMPLETE: Incomplete = { need: 0 };

type Failure = { readonly error: string };
type One = { readonly command: RespCommand; readonly next: number } | Incomplete | Failure;
type Length = { readonly value: number; readonly next: number } | Incomplete | Failure;

function isDone<T extends object>(result: T | Incomplete | Failure): result is T {
  return !('need' in result) && !('error' in result);
}

export class RespParser {
  /** Chunks received and not yet parsed: the start of an incomplete command. */
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  /** Bytes #pending must hold before parsing again can complete a command. */
  #need = 0;
  #failed = false;

  push(chunk: Buffer): ParseResult {
    if (this.#failed) return { commands: [] };
    this.#pending.push(chunk);
    this.#pendingBytes += chunk.length;
    if (this.#pendingBytes < this.#need) return { commands: [] };
    const buffer =
      this.#pending.length === 1 ? this.#pending[0]! : Buffer.concat(this.#pending, this.#pendingBytes);
    const commands: RespCommand[] = [];
    let offset = 0;
    this.#need = 0;
    while (offset < buffer.length) {
      const one = parseOne(buffer, offset);
      if ('need' in one) {
        this.#need = one.need === 0 ? 0 : one.need - offset;
        break;
      }
      if ('error' in one) {
        this.#failed = true;
        this.#pending = [];
        return { commands, error: one.error };
      }
      if (one.command.length > 0) commands.push(one.command);
      offset = one.next;
    }
    // Keep only the incomplete tail: a view into this buffer, so the commands just returned stay valid
    // while the caller runs them (nothing here writes into a buffer it has handed out).
    const tail = buffer.subarray(offset);
    this.#pending = tail.length === 0 ? [] : [tail];
    this.#pendingBytes = tail.length;
    return { commands };
  }
}

function parseOne(buffer: Buffer, start: number): One {
  return buffer[start] === ASTERISK ? parseMultibulk(buffer, start) : parseInline(buffer, start);
}

function parseMultibulk(buffer: Buffer, start: number): One {
  const countLine = lengthLine(buffer, start);
  if (!isDone(countLine)) return countLine;
  const { value: count } = countLine;
  let offset = countLine.next;
  // *0 and *-1 are empty requests: Redis skips them.
  if (count <= 0) return { command: [], next: offset };
  if (count > MAX_ARGUMENTS) return { error: 'invalid multibulk length' };
  const command: RespCommand = [];
  for (let i = 0; i < count; i++) {
    if (offset >= buffer.length) return INCOMPLETE;
    if (buffer[offset] !== DOLLAR) {
      return { error: `expected '$', got '${String.fromCharCode(buffer[offset]!)}'` };
    }
    const bulkLine = lengthLine(buffer, offset);
    if (!isDone(bulkLine)) return bulkLine;
    const { value: length } = bulkLine;
    if (length < 0 || length > MAX_BULK_BYTES) return { error: 'invalid bulk length' };
    const end = bulkLine.next + length;
    if (end + 2 > buffer.length) return { need: end + 2 };
    if (buffer[end] !== CR || buffer[end + 1] !== LF) return { error: 'bulk string not followed by CRLF' };
    command.push(buffer.subarray(bulkLine.next, end));
    offset = end + 2;
  }
  return { command, next: offset };
}

/** `*123\r\n` or `$123\r\n` at `start` (the marker is not checked here). */
function lengthLine(buffer: Buffer, start: number): Length {
  const lineEnd = buffer.indexOf(LF, start);
  if (lineEnd === -1) {
    return buffer.length - start > MAX_LENGTH_LINE ? { error: 'length line too long' } : INCOMPLETE;
  }
  if (lineEnd - start > MAX_LENGTH_LINE || buffer[lineEnd - 1] !== CR)
    return { error: 'invalid length line' };
  const value = parseInteger(buffer, start + 1, lineEnd - 1);
  if (value === undefined) return { error: 'invalid length' };
  return { value, next: lineEnd + 1 };
}

/** A decimal integer in buffer[from, to), or undefined when it is not one. */
function parseInteger(buffer: Buffer, from: number, to: number): number | undefined {
  let i = from;
  const negative = buffer[i] === MINUS;
  if (negative) i++;
  if (i >= to) return undefined;
  let value = 0;
  for (; i < to; i++) {
    const byte = buffer[i]!;
    if (byte < DIGIT_0 || byte > DIGIT_9) return undefined;
    value = value * 10 + (byte - DIGIT_0);
  }
  return negative ? -value : value;
}

function parseInline(buffer: Buffer, start: number): One {
  const lineEnd = buffer.indexOf(LF, start);
  if (lineEnd === -1) {
    return buffer.length - start > MAX_INLINE_BYTES ? { error: 'too big inline request' } : INCOMPLETE;
  }
  if (lineEnd - start > MAX_INLINE_BYTES) return { error: 'too big inline request' };
  const end = lineEnd > start && buffer[lineEnd - 1] === CR ? lineEnd - 1 : lineEnd;
  const command: RespCommand = [];
  let word = -1;
  for (let i = start; i <= end; i++) {
    const separator = i === end || buffer[i] === SPACE || buffer[i] === TAB;
    if (separator && word !== -1) {
      command.push(buffer.subarray(word, i));
      word = -1;
    } else if (!separator && word === -1) word = i;
  }
  return { command, next: lineEnd + 1 };
}
