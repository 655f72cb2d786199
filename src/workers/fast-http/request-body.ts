import { FastRequestAbortedError } from '../../errors.js';

/** What a body tells its connection: read less (the handler is behind) or more. */
export interface BodyFlow {
  pauseBody(): void;
  resumeBody(): void;
}

/** Buffered body bytes past which the connection stops reading until the handler catches up. */
const BODY_HIGH_WATER = 64 * 1024;

/**
 * A request's body as it arrives: chunks are copied out of the parser's input (which is reused) and
 * queued for the handler, which takes them as an async iterator or all at once. Past BODY_HIGH_WATER
 * buffered bytes the connection stops reading, so a slow consumer holds back the client, not memory.
 * Once the response is sent, what the handler did not read is dropped as it arrives (`discard`).
 */
export class RequestBody implements AsyncIterable<Uint8Array> {
  readonly #flow: BodyFlow;
  #chunks: Uint8Array[] = [];
  #buffered = 0;
  #ended = false;
  #error: Error | undefined;
  #discarding = false;
  #paused = false;
  #waiter: (() => void) | undefined;
  #taken = false;

  constructor(flow: BodyFlow) {
    this.#flow = flow;
  }

  push(source: Uint8Array, offset: number, length: number): void {
    if (this.#discarding) return;
    // A copy (Buffer#slice would not copy): the source is reused by the next read.
    this.#chunks.push(new Uint8Array(source.subarray(offset, offset + length)));
    this.#buffered += length;
    if (this.#buffered > BODY_HIGH_WATER && !this.#paused) {
      this.#paused = true;
      this.#flow.pauseBody();
    }
    this.#wake();
  }

  end(): void {
    this.#ended = true;
    this.#wake();
  }

  /** The connection ended before the body did. */
  abort(): void {
    if (this.#ended) return;
    this.#error = new FastRequestAbortedError();
    this.#wake();
  }

  /** The response is out: nobody will read the rest. Whether the body is complete already. */
  discard(): boolean {
    this.#discarding = true;
    this.#chunks = [];
    this.#buffered = 0;
    this.#resume();
    return this.#ended;
  }

  get ended(): boolean {
    return this.#ended;
  }

  async bytes(): Promise<Uint8Array> {
    const parts: Uint8Array[] = [];
    let total = 0;
    for await (const chunk of this) {
      parts.push(chunk);
      total += chunk.length;
    }
    if (parts.length === 1) return parts[0]!;
    const out = new Uint8Array(total);
    let at = 0;
    for (const part of parts) {
      out.set(part, at);
      at += part.length;
    }
    return out;
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    if (this.#taken) throw new TypeError('the request body can be read only once');
    this.#taken = true;
    return {
      next: async (): Promise<IteratorResult<Uint8Array>> => {
        for (;;) {
          const chunk = this.#chunks.shift();
          if (chunk !== undefined) {
            this.#buffered -= chunk.length;
            if (this.#buffered <= BODY_HIGH_WATER / 2) this.#resume();
            return { done: false, value: chunk };
          }
          if (this.#error !== undefined) throw this.#error;
          if (this.#ended) return { done: true, value: undefined };
          await new Promise<void>((resolve) => {
            this.#waiter = resolve;
          });
        }
      },
    };
  }

  #resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#flow.resumeBody();
  }

  #wake(): void {
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.();
  }
}
