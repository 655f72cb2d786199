import {
  loadNative,
  type NativeBinding,
  STREAM_CLOSED,
  STREAM_DATA,
  STREAM_DRAINED,
  STREAM_EOF,
  STREAM_ERROR,
  STREAM_EVENT_A,
  STREAM_EVENT_B,
  STREAM_EVENT_ID,
  STREAM_EVENT_TYPE,
  STREAM_EVENT_WORDS,
  STREAM_OUT_COUNT,
  STREAM_OUT_END,
  STREAM_OUT_FLAGS,
  STREAM_OUT_HEADER_WORDS,
  STREAM_OUT_ID,
  STREAM_OUT_LENGTH,
  STREAM_OUT_OFFSET,
  STREAM_OUT_WORDS,
  type StreamsHandle,
} from '../../native/binding.js';
import type { FastConnection } from './connection.js';
import type { Transport } from './transport.js';

/** What the stream group reports, per connection id. */
export interface StreamSink {
  /** A batch of events begins (read the clock once here). */
  batch(): void;
  connection(id: number): FastConnection | undefined;
}

/*
 * The shard's slab (one SharedArrayBuffer):
 *
 *   | bytes                 | what                                                        | written by |
 *   |-----------------------|-------------------------------------------------------------|------------|
 *   | [0, IN_BYTES)         | reads: each DATA event's bytes, valid during the batch      | the addon  |
 *   | [IN_BYTES, SLAB_BYTES)| responses: written here, then flushed (writev) per batch    | this file  |
 */
const IN_BYTES = 1 << 20;
const OUT_BYTES = 1 << 20;
const SLAB_BYTES = IN_BYTES + OUT_BYTES;
const READ_BYTES = 64 * 1024;
/** Unsent bytes per connection past which it is not read from (and a streamed body waits). */
const HIGH_WATER = 64 * 1024;
const MAX_EVENTS = 4096;
const MAX_RECORDS = 4096;
/** Connections one shard can hold at once (ids index `pending`). */
const MAX_STREAMS = 1 << 16;

function sharedInt32(length: number): Int32Array {
  return new Int32Array(new SharedArrayBuffer(length * Int32Array.BYTES_PER_ELEMENT));
}

/**
 * Design (b) of the fast path: the shard owns each connection's fd natively (native/ss_streams.c). The
 * addon reads every readable connection of a loop turn into the slab, calls `#onEvents` once for all of
 * them, and this side answers by writing responses into the slab's output region and flushing once per
 * batch: one writev per connection, however many pipelined responses it holds.
 */
export class StreamsTransport implements Transport {
  readonly reusesInput = true;
  readonly #native: NativeBinding;
  readonly #handle: StreamsHandle;
  readonly #slab: Buffer;
  readonly #events: Int32Array;
  readonly #out: Int32Array;
  readonly #pending: Int32Array;
  readonly #sink: StreamSink;
  #outAt = IN_BYTES;
  #records = 0;
  #inBatch = false;
  #flushQueued = false;

  constructor(sink: StreamSink) {
    this.#sink = sink;
    this.#native = loadNative();
    const slab = new SharedArrayBuffer(SLAB_BYTES);
    this.#slab = Buffer.from(slab);
    this.#events = sharedInt32(MAX_EVENTS * STREAM_EVENT_WORDS);
    this.#out = sharedInt32(STREAM_OUT_HEADER_WORDS + MAX_RECORDS * STREAM_OUT_WORDS);
    this.#pending = sharedInt32(MAX_STREAMS);
    this.#handle = this.#native.startStreams(
      new Uint8Array(slab),
      this.#events,
      this.#out,
      this.#pending,
      { inBytes: IN_BYTES, readBytes: READ_BYTES, highWater: HIGH_WATER },
      this.#onEvents,
    );
  }

  /** Takes `fd` (now the group's to close) and returns its connection id. */
  open(fd: number): number {
    return this.#native.streamsAdd(this.#handle, fd);
  }

  send(connection: FastConnection, head: string, body: string | Uint8Array | null): void {
    // A string body takes at most 3 bytes per UTF-16 unit in UTF-8.
    const bound =
      head.length + (body === null ? 0 : typeof body === 'string' ? body.length * 3 : body.length);
    if (bound > OUT_BYTES) {
      this.#writeLarge(connection, [Buffer.from(head, 'latin1'), body === null ? EMPTY : toBytes(body)]);
      return;
    }
    this.#room(bound);
    const at = this.#outAt;
    let length = this.#slab.write(head, at, 'latin1');
    if (body !== null) length += this.#put(body, at + length);
    this.#record(connection.id, at, length, 0);
  }

  sendChunk(
    connection: FastConnection,
    prefix: string,
    chunk: string | Uint8Array | null,
    suffix: string,
  ): void {
    const bound =
      prefix.length +
      suffix.length +
      (chunk === null ? 0 : typeof chunk === 'string' ? chunk.length * 3 : chunk.length);
    if (bound > OUT_BYTES) {
      this.#writeLarge(connection, [
        Buffer.from(prefix, 'latin1'),
        chunk === null ? EMPTY : toBytes(chunk),
        Buffer.from(suffix, 'latin1'),
      ]);
      return;
    }
    this.#room(bound);
    const at = this.#outAt;
    let length = prefix.length === 0 ? 0 : this.#slab.write(prefix, at, 'latin1');
    if (chunk !== null) length += this.#put(chunk, at + length);
    if (suffix.length > 0) length += this.#slab.write(suffix, at + length, 'latin1');
    this.#record(connection.id, at, length, 0);
  }

  end(connection: FastConnection): void {
    this.#room(0);
    this.#record(connection.id, this.#outAt, 0, STREAM_OUT_END);
  }

  destroy(connection: FastConnection): void {
    this.#native.streamsDestroy(this.#handle, connection.id);
  }

  pause(connection: FastConnection, paused: boolean): void {
    this.#native.streamsPause(this.#handle, connection.id, paused);
  }

  congested(connection: FastConnection): boolean {
    return this.#pending[connection.id]! > HIGH_WATER;
  }

  /** Writes what is queued: one writev per connection. */
  flush(): void {
    this.#flushQueued = false;
    if (this.#records === 0) return;
    this.#out[STREAM_OUT_COUNT] = this.#records;
    this.#records = 0;
    this.#outAt = IN_BYTES;
    this.#native.streamsFlush(this.#handle);
  }

  /** Closes every connection (their unsent output is dropped) and the group. */
  stop(): void {
    this.#native.stopStreams(this.#handle);
  }

  #put(body: string | Uint8Array, at: number): number {
    if (typeof body === 'string') return this.#slab.write(body, at, 'utf8');
    this.#slab.set(body, at);
    return body.length;
  }

  #room(bytes: number): void {
    if (this.#outAt + bytes > SLAB_BYTES || this.#records === MAX_RECORDS) this.flush();
  }

  #record(id: number, at: number, length: number, flags: number): void {
    const record = STREAM_OUT_HEADER_WORDS + this.#records * STREAM_OUT_WORDS;
    const out = this.#out;
    out[record + STREAM_OUT_ID] = id;
    out[record + STREAM_OUT_OFFSET] = at;
    out[record + STREAM_OUT_LENGTH] = length;
    out[record + STREAM_OUT_FLAGS] = flags;
    this.#records++;
    this.#outAt = at + length;
    // Inside a batch the batch's end flushes; outside (a handler's promise settled) the tick's end does,
    // so every response settled in one tick leaves in one writev per connection too.
    if (!this.#inBatch && !this.#flushQueued) {
      this.#flushQueued = true;
      process.nextTick(this.#flushSoon);
    }
  }

  readonly #flushSoon = (): void => this.flush();

  #writeLarge(connection: FastConnection, parts: Uint8Array[]): void {
    this.flush();
    for (const part of parts)
      if (part.length > 0) this.#native.streamsWrite(this.#handle, connection.id, part);
  }

  readonly #onEvents = (count: number): void => {
    const events = this.#events;
    const sink = this.#sink;
    this.#inBatch = true;
    try {
      sink.batch();
      for (let i = 0; i < count; i++) {
        const event = i * STREAM_EVENT_WORDS;
        const connection = sink.connection(events[event + STREAM_EVENT_ID]!);
        if (connection === undefined) continue;
        switch (events[event + STREAM_EVENT_TYPE]) {
          case STREAM_DATA:
            connection.data(this.#slab, events[event + STREAM_EVENT_A]!, events[event + STREAM_EVENT_B]!);
            break;
          case STREAM_EOF:
            connection.eof();
            break;
          case STREAM_ERROR:
            connection.error();
            break;
          case STREAM_DRAINED:
            connection.drained();
            break;
          case STREAM_CLOSED:
            connection.closed();
            break;
        }
      }
    } finally {
      this.#inBatch = false;
      this.flush();
    }
  };
}

const EMPTY = new Uint8Array(0);

function toBytes(body: string | Uint8Array): Uint8Array {
  return typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
}
