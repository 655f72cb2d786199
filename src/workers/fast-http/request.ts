import { FastRequestReleasedError } from '../../errors.js';
import type { FastRequest } from '../../handler.js';
import type { RequestBody } from './request-body.js';

/**
 * The head's spans, four Int32 words per header after the URL's two: [urlAt, urlLength, nameAt,
 * nameLength, valueAt, valueLength, ...], offsets relative to `at` in `bytes`.
 */
export type HeadSpans = readonly number[];

const SPAN_URL = 0;
const SPAN_HEADERS = 2;
const SPAN_WORDS = 4;

/**
 * One request as the fast path hands it to a handler. Everything is read lazily from the bytes the head
 * arrived in: a handler that looks only at the path decodes nothing else. Those bytes may be the shard's
 * slab, which the next batch of reads overwrites, so a request whose handler returns a promise copies its
 * head first (`detach`); a request answered synchronously is released (reading it then throws
 * ERR_REQUEST_RELEASED rather than return another request's bytes).
 */
export class FastRequestImpl implements FastRequest {
  readonly method: string;
  readonly httpVersion: '1.0' | '1.1';
  #bytes: Buffer | undefined;
  #at: number;
  #spans: HeadSpans;
  #url: string | undefined;
  #headers: Record<string, string> | undefined;
  readonly #body: RequestBody | undefined;

  constructor(
    method: string,
    minor: number,
    bytes: Buffer,
    at: number,
    spans: HeadSpans,
    body: RequestBody | undefined,
  ) {
    this.method = method;
    this.httpVersion = minor === 0 ? '1.0' : '1.1';
    this.#bytes = bytes;
    this.#at = at;
    this.#spans = spans;
    this.#body = body;
  }

  get url(): string {
    this.#url ??= this.#decode(this.#spans[SPAN_URL]!, this.#spans[SPAN_URL + 1]!);
    return this.#url;
  }

  get path(): string {
    const url = this.url;
    const query = url.indexOf('?');
    return query === -1 ? url : url.slice(0, query);
  }

  get query(): string {
    const url = this.url;
    const query = url.indexOf('?');
    return query === -1 ? '' : url.slice(query + 1);
  }

  header(name: string): string | undefined {
    if (this.#headers !== undefined) return this.#headers[name.toLowerCase()];
    const bytes = this.#view();
    const want = name.length;
    let found: string | undefined;
    for (let i = SPAN_HEADERS; i < this.#spans.length; i += SPAN_WORDS) {
      if (this.#spans[i + 1] !== want) continue;
      const at = this.#at + this.#spans[i]!;
      let same = true;
      for (let c = 0; c < want; c++) {
        // ASCII case folding: header names are tokens (llhttp rejected anything else).
        if ((bytes[at + c]! | 0x20) !== (name.charCodeAt(c) | 0x20)) {
          same = false;
          break;
        }
      }
      if (!same) continue;
      const value = this.#decode(this.#spans[i + 2]!, this.#spans[i + 3]!);
      found = found === undefined ? value : `${found}, ${value}`;
    }
    return found;
  }

  get headers(): Readonly<Record<string, string>> {
    if (this.#headers !== undefined) return this.#headers;
    const headers: Record<string, string> = Object.create(null) as Record<string, string>;
    for (let i = SPAN_HEADERS; i < this.#spans.length; i += SPAN_WORDS) {
      const name = this.#decode(this.#spans[i]!, this.#spans[i + 1]!).toLowerCase();
      const value = this.#decode(this.#spans[i + 2]!, this.#spans[i + 3]!);
      const before = headers[name];
      headers[name] = before === undefined ? value : `${before}, ${value}`;
    }
    this.#headers = headers;
    return headers;
  }

  get rawHeaders(): readonly string[] {
    const raw: string[] = [];
    for (let i = SPAN_HEADERS; i < this.#spans.length; i += SPAN_WORDS) {
      raw.push(
        this.#decode(this.#spans[i]!, this.#spans[i + 1]!),
        this.#decode(this.#spans[i + 2]!, this.#spans[i + 3]!),
      );
    }
    return raw;
  }

  bytes(): Promise<Uint8Array> {
    return this.#body === undefined ? Promise.resolve(new Uint8Array(0)) : this.#body.bytes();
  }

  async text(): Promise<string> {
    const bytes = await this.bytes();
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  }

  body(): AsyncIterable<Uint8Array> {
    return this.#body === undefined ? EMPTY_BODY : this.#body;
  }

  /** The head now lives in memory of its own (the handler went async: the slab will be reused). */
  detach(): void {
    if (this.#bytes === undefined) return;
    let start = Number.POSITIVE_INFINITY;
    let end = 0;
    for (let i = 0; i < this.#spans.length; i += 2) {
      if (this.#spans[i + 1] === 0) continue;
      start = Math.min(start, this.#spans[i]!);
      end = Math.max(end, this.#spans[i]! + this.#spans[i + 1]!);
    }
    if (end === 0) start = 0;
    this.#bytes = Buffer.from(this.#bytes.subarray(this.#at + start, this.#at + end));
    this.#at = -start;
  }

  /** The handler answered synchronously: the head's bytes are about to be reused. */
  release(): void {
    this.#bytes = undefined;
  }

  #view(): Buffer {
    if (this.#bytes === undefined) throw new FastRequestReleasedError();
    return this.#bytes;
  }

  #decode(offset: number, length: number): string {
    const start = this.#at + offset;
    return this.#view().toString('latin1', start, start + length);
  }
}

const EMPTY_BODY: AsyncIterable<Uint8Array> = {
  [Symbol.asyncIterator]: () => ({ next: () => Promise.resolve({ done: true, value: undefined }) }),
};
