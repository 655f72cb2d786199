/**
 * llhttp, the HTTP/1.1 parser node:http uses, as undici builds it for WebAssembly (the npm package
 * `undici`, lib/llhttp). One instance per shard serves every connection of the shard: each connection has
 * its own parser state (`llhttp_alloc`) in the instance's memory, and the callbacks below go to whichever
 * connection is executing, since the instance runs one `execute` at a time on this thread.
 *
 * Why this build: it is the parser node:http runs (llhttp 9.x, strict, with no lenient flag set), so both
 * HTTP paths answer malformed and ambiguous requests alike; the npm registry and Debian offer llhttp's C
 * only as releases that predate the fixes for several request-smuggling shapes (llhttp 1.0.1 on npm,
 * 8.1.0 in Debian 12). Bytes are copied into the instance's memory before each execute (one memcpy per
 * read; the parser never sees the slab itself).
 */
import { createRequire } from 'node:module';

/** What the parser tells the connection that is executing. Spans are [offset, length] in the input. */
export interface ParserEvents {
  onMessageBegin(): number;
  onUrl(offset: number, length: number): number;
  onHeaderField(offset: number, length: number): number;
  onHeaderValue(offset: number, length: number): number;
  onHeadersComplete(upgrade: boolean, keepAlive: boolean): number;
  onBody(offset: number, length: number): number;
  onMessageComplete(): number;
}

/** llhttp_errno values the connection acts on (llhttp's api.h). */
export const HPE_OK = 0;
export const HPE_PAUSED = 21;
export const HPE_PAUSED_UPGRADE = 22;
export const HPE_USER = 24;
const TYPE_REQUEST = 1;
/** More than llhttp_method_t's values (0 to 46 in llhttp 9.3); names are read from the parser itself. */
const METHOD_CODES = 64;

interface LlhttpExports {
  readonly memory: { readonly buffer: ArrayBuffer };
  malloc(size: number): number;
  free(pointer: number): void;
  llhttp_alloc(type: number): number;
  llhttp_free(parser: number): void;
  llhttp_execute(parser: number, data: number, length: number): number;
  llhttp_get_method(parser: number): number;
  llhttp_get_http_minor(parser: number): number;
  llhttp_get_error_pos(parser: number): number;
  llhttp_method_name(method: number): number;
  llhttp_resume(parser: number): void;
  llhttp_resume_after_upgrade(parser: number): void;
}

/** The part of the WebAssembly JS API used here (the project's type libraries do not declare it). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { readonly exports: unknown };
  validate(bytes: Uint8Array): boolean;
}

const wasm = (globalThis as unknown as { readonly WebAssembly: WasmApi }).WebAssembly;
const require = createRequire(import.meta.url);
let compiled: object | undefined;

function module(): object {
  // undici ships the binary as a Buffer in a CommonJS module; the SIMD build where WebAssembly has SIMD.
  compiled ??= new wasm.Module(
    require(
      wasm.validate(SIMD_PROBE)
        ? 'undici/lib/llhttp/llhttp_simd-wasm.js'
        : 'undici/lib/llhttp/llhttp-wasm.js',
    ) as Uint8Array,
  );
  return compiled;
}

// (module (func (result v128) v128.const i32x4 0 0 0 0)): valid only where WebAssembly has SIMD.
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 22, 1, 20, 0, 253, 12, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 11,
]);

/** One llhttp instance for this thread's connections. */
export class Llhttp {
  readonly #exports: LlhttpExports;
  #memory: Uint8Array;
  /** Where each execute's input is copied, and how much room it has. */
  #input = 0;
  #inputBytes = 0;
  /** The input's address during an execute: span offsets are relative to it. */
  #base = 0;
  #current: ParserEvents | undefined;
  readonly methods: readonly string[];

  constructor() {
    const on = (call: (events: ParserEvents) => number) => (): number =>
      this.#current === undefined ? -1 : call(this.#current);
    const span =
      (call: (events: ParserEvents, offset: number, length: number) => number) =>
      (_parser: number, at: number, length: number): number =>
        this.#current === undefined ? -1 : call(this.#current, at - this.#base, length);
    const instance = new wasm.Instance(module(), {
      env: {
        wasm_on_message_begin: on((events) => events.onMessageBegin()),
        wasm_on_url: span((events, offset, length) => events.onUrl(offset, length)),
        wasm_on_status: () => 0,
        wasm_on_header_field: span((events, offset, length) => events.onHeaderField(offset, length)),
        wasm_on_header_value: span((events, offset, length) => events.onHeaderValue(offset, length)),
        wasm_on_headers_complete: (_parser: number, _status: number, upgrade: number, keepAlive: number) =>
          this.#current === undefined ? -1 : this.#current.onHeadersComplete(upgrade === 1, keepAlive === 1),
        wasm_on_body: span((events, offset, length) => events.onBody(offset, length)),
        wasm_on_message_complete: on((events) => events.onMessageComplete()),
      },
    });
    this.#exports = instance.exports as unknown as LlhttpExports;
    this.#memory = new Uint8Array(this.#exports.memory.buffer);
    this.#reserve(16 * 1024);
    const methods: string[] = [];
    // llhttp_method_name traps past the last method: the first trap ends the table.
    try {
      for (let code = 0; code < METHOD_CODES; code++)
        methods.push(this.#string(this.#exports.llhttp_method_name(code)));
    } catch {}
    this.methods = methods;
  }

  /** A request parser's state, for one connection; `free` it when the connection ends. */
  alloc(): number {
    const parser = this.#exports.llhttp_alloc(TYPE_REQUEST);
    this.#refresh();
    return parser;
  }

  free(parser: number): void {
    this.#exports.llhttp_free(parser);
  }

  /**
   * Parses `length` bytes of `source` from `offset` for `parser`, calling `events`. Returns llhttp's errno
   * (HPE_OK, or why it stopped) and, through `stoppedAt`, where it stopped in the input.
   */
  execute(parser: number, events: ParserEvents, source: Uint8Array, offset: number, length: number): number {
    if (length > this.#inputBytes) this.#reserve(length);
    this.#memory.set(source.subarray(offset, offset + length), this.#input);
    this.#base = this.#input;
    this.#current = events;
    try {
      return this.#exports.llhttp_execute(parser, this.#input, length);
    } finally {
      this.#current = undefined;
    }
  }

  /** After an error or a pause: the offset in the last input where the parser stopped. */
  stoppedAt(parser: number): number {
    return this.#exports.llhttp_get_error_pos(parser) - this.#base;
  }

  /** Resumes a parser that a callback paused (HPE_PAUSED). */
  resume(parser: number): void {
    this.#exports.llhttp_resume(parser);
  }

  /** Goes on parsing as HTTP after an upgrade request (HPE_PAUSED_UPGRADE) that is served as a plain one. */
  resumeAfterUpgrade(parser: number): void {
    this.#exports.llhttp_resume_after_upgrade(parser);
  }

  method(parser: number): string {
    return this.methods[this.#exports.llhttp_get_method(parser)] ?? 'GET';
  }

  /** HTTP/1.0 → 0, HTTP/1.1 → 1 (llhttp refuses any other version from a client). */
  minorVersion(parser: number): number {
    return this.#exports.llhttp_get_http_minor(parser);
  }

  #reserve(bytes: number): void {
    if (this.#input !== 0) this.#exports.free(this.#input);
    this.#inputBytes = Math.max(bytes, 16 * 1024);
    this.#input = this.#exports.malloc(this.#inputBytes);
    this.#refresh();
  }

  /** Memory growth detaches the old buffer: view the new one. */
  #refresh(): void {
    if (this.#memory.buffer !== this.#exports.memory.buffer)
      this.#memory = new Uint8Array(this.#exports.memory.buffer);
  }

  #string(pointer: number): string {
    if (pointer === 0) return '';
    this.#refresh();
    let end = pointer;
    while (this.#memory[end] !== 0) end++;
    return Buffer.from(this.#memory.buffer, pointer, end - pointer).toString('latin1');
  }
}
