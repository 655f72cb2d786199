import type net from 'node:net';
import { describe, expect, it } from 'vitest';
import {
  ACCEPTED_FD,
  ACCEPTED_STRIDE,
  close,
  listen,
  loadNative,
  STREAM_CLOSED,
  STREAM_DATA,
  STREAM_DRAINED,
  STREAM_EOF,
  STREAM_EVENT_A,
  STREAM_EVENT_B,
  STREAM_EVENT_ID,
  STREAM_EVENT_TYPE,
  STREAM_EVENT_WORDS,
  STREAM_OUT_COUNT,
  STREAM_OUT_END,
  STREAM_OUT_HEADER_WORDS,
  STREAM_OUT_WORDS,
  type StreamsHandle,
  startAccepting,
  stopAccepting,
} from '../../src/native/binding.js';
import { closed, connect, useTeardown } from '../helpers/sockets.js';

const defer = useTeardown();
const native = loadNative();
const IN_BYTES = 1 << 16;
const HIGH_WATER = 1 << 16;

function shared(words: number): Int32Array {
  return new Int32Array(new SharedArrayBuffer(words * 4));
}

interface Event {
  readonly type: number;
  readonly id: number;
  readonly data?: string;
  readonly a: number;
}

/** A stream group on connections accepted natively in this thread, recording its events. */
function group() {
  const slab = new Uint8Array(new SharedArrayBuffer(IN_BYTES * 2));
  const events = shared(64 * STREAM_EVENT_WORDS);
  const out = shared(STREAM_OUT_HEADER_WORDS + 64 * STREAM_OUT_WORDS);
  const pending = shared(64);
  const seen: Event[] = [];
  const onEvent: ((event: Event) => void)[] = [];
  const handle: StreamsHandle = native.startStreams(
    slab,
    events,
    out,
    pending,
    { inBytes: IN_BYTES, readBytes: 4096, highWater: HIGH_WATER },
    (count) => {
      for (let i = 0; i < count; i++) {
        const e = i * STREAM_EVENT_WORDS;
        const type = events[e + STREAM_EVENT_TYPE]!;
        const a = events[e + STREAM_EVENT_A]!;
        const event: Event = {
          type,
          id: events[e + STREAM_EVENT_ID]!,
          a,
          ...(type === STREAM_DATA
            ? { data: Buffer.from(slab.subarray(a, a + events[e + STREAM_EVENT_B]!)).toString('latin1') }
            : {}),
        };
        seen.push(event);
        for (const listener of onEvent) listener(event);
      }
    },
  );
  defer(() => native.stopStreams(handle));
  const { fd: listenFd, port } = listen({ host: '127.0.0.1', port: 0 });
  defer(() => close(listenFd));
  const accepted: number[] = [];
  const acceptOut = new Int32Array(8 * ACCEPTED_STRIDE);
  const accepting = startAccepting(listenFd, acceptOut, (count) => {
    for (let i = 0; i < count; i++)
      accepted.push(native.streamsAdd(handle, acceptOut[i * ACCEPTED_STRIDE + ACCEPTED_FD]!));
  });
  defer(() => stopAccepting(accepting));
  let outAt = IN_BYTES;
  let records = 0;
  return {
    handle,
    seen,
    pending,
    accepted,
    async client(): Promise<{ socket: net.Socket; id: number }> {
      const socket = await connect(port, '127.0.0.1');
      defer(async () => {
        socket.destroy();
        await closed(socket);
      });
      await expect.poll(() => accepted.length).toBeGreaterThan(0);
      return { socket, id: accepted.shift()! };
    },
    /** Queues bytes for stream `id` (END: shut after them); `flush` writes them. */
    queue(id: number, text: string, flags = 0): void {
      const bytes = Buffer.from(text, 'latin1');
      slab.set(bytes, outAt);
      const record = STREAM_OUT_HEADER_WORDS + records * STREAM_OUT_WORDS;
      out.set([id, outAt, bytes.length, flags], record);
      outAt += bytes.length;
      records++;
    },
    flush(): void {
      out[STREAM_OUT_COUNT] = records;
      records = 0;
      outAt = IN_BYTES;
      native.streamsFlush(handle);
    },
    until(predicate: (event: Event) => boolean): Promise<Event> {
      const found = seen.find(predicate);
      if (found !== undefined) return Promise.resolve(found);
      return new Promise((resolve) => onEvent.push((event) => predicate(event) && resolve(event)));
    },
  };
}

function received(socket: net.Socket): { text: () => string } {
  let text = '';
  socket.on('data', (chunk: Buffer) => {
    text += chunk.toString('latin1');
  });
  return { text: () => text };
}

describe('stream groups (startStreams)', () => {
  it('reads into the slab, writes corked records in order, and ends after an END record', async () => {
    const g = group();
    const { socket, id } = await g.client();
    const reply = received(socket);
    socket.write('ping');
    expect((await g.until((e) => e.type === STREAM_DATA && e.id === id)).data).toBe('ping');
    g.queue(id, 'one ');
    g.queue(id, 'two ');
    g.queue(id, 'three', STREAM_OUT_END);
    g.flush();
    await new Promise((resolve) => socket.once('end', resolve));
    expect(reply.text()).toBe('one two three');
    socket.end();
    await g.until((e) => e.type === STREAM_CLOSED && e.id === id);
  });

  it('reports the peer shutting its side (EOF) and keeps writing after it', async () => {
    const g = group();
    const { socket, id } = await g.client();
    const reply = received(socket);
    socket.end('last words');
    await g.until((e) => e.type === STREAM_EOF && e.id === id);
    expect(
      g.seen
        .filter((e) => e.id === id && e.type === STREAM_DATA)
        .map((e) => e.data)
        .join(''),
    ).toBe('last words');
    g.queue(id, 'answer', STREAM_OUT_END);
    g.flush();
    await closed(socket);
    expect(reply.text()).toBe('answer');
    await g.until((e) => e.type === STREAM_CLOSED && e.id === id);
  });

  it('stops reading a peer that does not read, and reports DRAINED once it does', async () => {
    const g = group();
    const { socket, id } = await g.client();
    socket.pause();
    // More than the kernel's buffers on both ends of a loopback connection take (autotuned, a few MiB).
    const big = 'x'.repeat(64 * 1024);
    const writes = 320;
    for (let i = 0; i < writes; i++) native.streamsWrite(g.handle, id, Buffer.from(big));
    await expect.poll(() => g.pending[id]).toBeGreaterThan(HIGH_WATER);
    const before = g.seen.filter((e) => e.type === STREAM_DATA).length;
    socket.write('while congested');
    // The stream's read interest is off: nothing arrives until the peer reads. (An absence has no event
    // to wait for: this window only gives a wrongly reading stream the time to show it.)
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(g.seen.filter((e) => e.type === STREAM_DATA).length).toBe(before);
    let got = 0;
    socket.on('data', (chunk: Buffer) => {
      got += chunk.length;
    });
    socket.resume();
    await g.until((e) => e.type === STREAM_DRAINED && e.id === id);
    // DRAINED: the addon has handed everything to the kernel, which delivers the rest meanwhile.
    await expect.poll(() => got).toBe(writes * big.length);
    expect(
      (await g.until((e) => e.type === STREAM_DATA && e.id === id && e.data === 'while congested')).data,
    ).toBe('while congested');
  });

  it('destroys a stream at once, with no event after it', async () => {
    const g = group();
    const { socket, id } = await g.client();
    native.streamsDestroy(g.handle, id);
    await closed(socket);
    await new Promise((resolve) => setImmediate(resolve));
    expect(g.seen.filter((e) => e.id === id)).toEqual([]);
  });

  it('refuses a slab that is not shared memory', () => {
    expect(() =>
      native.startStreams(new Uint8Array(1024), shared(4), shared(8), shared(4), { inBytes: 512 }, () => {}),
    ).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
  });
});
