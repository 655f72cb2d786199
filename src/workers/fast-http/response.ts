/**
 * Response heads for the fast path: the status line, the handler's headers (checked as node:http checks
 * them, so no handler can split a response), `date`, `content-length` or `transfer-encoding: chunked`,
 * and `connection`. Heads are latin1 strings: every byte a header may hold is one latin1 character.
 */
import { STATUS_CODES } from 'node:http';
import { InvalidResponseError } from '../../errors.js';
import type { FastBody, FastHeaders, FastResponse, FastResponseInit } from '../../handler.js';

const statusLines = new Map<number, string>();

/** The status line for `status`; throws InvalidResponseError for a status a handler may not send. */
export function statusLine(status: number): string {
  let line = statusLines.get(status);
  if (line === undefined) {
    if (!Number.isInteger(status) || status < 200 || status > 999)
      throw new InvalidResponseError(`status must be an integer from 200 to 999, got ${String(status)}`);
    line = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'unknown'}\r\n`;
    statusLines.set(status, line);
  }
  return line;
}

// RFC 9110 token for names; values as node:http's checkInvalidHeaderChar allows (HTAB, SP-~, obs-text).
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const INVALID_VALUE = /[^\t\x20-\x7e\x80-\xff]/;

/** Headers the fast path writes itself; a handler's own are ignored (`connection: close` is honoured). */
const OWN_HEADERS = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive']);

/** What the handler's headers say beyond their text. */
export interface HeaderBlock {
  readonly text: string;
  readonly close: boolean;
  readonly hasDate: boolean;
}

const EMPTY_BLOCK: HeaderBlock = { text: '', close: false, hasDate: false };

export function headerBlock(headers: FastHeaders | undefined): HeaderBlock {
  if (headers === undefined) return EMPTY_BLOCK;
  let text = '';
  let close = false;
  let hasDate = false;
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined) continue;
    if (!TOKEN.test(name)) throw new InvalidResponseError(`invalid header name ${JSON.stringify(name)}`);
    const lower = name.length === 4 || name.length >= 10 ? name.toLowerCase() : '';
    if (lower === 'date') hasDate = true;
    if (OWN_HEADERS.has(lower)) {
      if (lower === 'connection' && /\bclose\b/i.test(String(value))) close = true;
      continue;
    }
    if (typeof value === 'object') {
      for (const item of value) text += headerLine(name, item);
    } else {
      text += headerLine(name, value);
    }
  }
  return { text, close, hasDate };
}

function headerLine(name: string, value: string | number): string {
  const text = typeof value === 'number' ? String(value) : value;
  if (typeof text !== 'string' || INVALID_VALUE.test(text))
    throw new InvalidResponseError(`invalid value for header ${JSON.stringify(name)}`);
  return `${name}: ${text}\r\n`;
}

let dateSecond = -1;
let dateLine = '';

/** `date: <IMF-fixdate>\r\n`, built at most once a second (node:http caches it the same way). */
export function dateHeader(now: number): string {
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateLine = `date: ${new Date(second * 1000).toUTCString()}\r\n`;
  }
  return dateLine;
}

/** Statuses whose responses never have a body (RFC 9110 6.4.1); HEAD responses have none either. */
export function bodyless(status: number): boolean {
  return status === 204 || status === 304 || (status >= 100 && status < 200);
}

export interface HeadOptions {
  readonly status: number;
  readonly block: HeaderBlock;
  /** Bytes of a fixed body, or -1 for a streamed one (chunked, or close-delimited for HTTP/1.0). */
  readonly contentLength: number;
  readonly keepAlive: boolean;
  readonly http10: boolean;
  readonly now: number;
}

export function responseHead(options: HeadOptions): string {
  const { status, block, contentLength, keepAlive, http10 } = options;
  let head = statusLine(status) + block.text;
  if (!block.hasDate) head += dateHeader(options.now);
  if (!bodyless(status)) {
    if (contentLength >= 0) head += `content-length: ${contentLength}\r\n`;
    else if (!http10) head += 'transfer-encoding: chunked\r\n';
  }
  if (!keepAlive) head += 'connection: close\r\n';
  else if (http10) head += 'connection: keep-alive\r\n';
  return `${head}\r\n`;
}

/** A handler's result, taken apart. */
export interface ResponseParts {
  readonly status: number;
  readonly headers: FastHeaders | undefined;
  readonly body: FastBody;
}

export function responseParts(value: FastResponse): ResponseParts {
  if (typeof value === 'string' || value instanceof Uint8Array)
    return { status: 200, headers: undefined, body: value };
  if (value === null || typeof value !== 'object')
    throw new InvalidResponseError(
      'a fast handler must return a string, a Uint8Array or { status, headers, body } (or a promise of one)',
    );
  const init = value as FastResponseInit;
  return { status: init.status ?? 200, headers: init.headers, body: init.body };
}

/** Whether `body` is streamed (an async iterable) rather than fixed. */
export function isStreamedBody(body: FastBody): body is AsyncIterable<string | Uint8Array> {
  return (
    typeof body === 'object' && body !== null && !(body instanceof Uint8Array) && Symbol.asyncIterator in body
  );
}
