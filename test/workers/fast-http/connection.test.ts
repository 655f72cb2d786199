/**
 * The fast path's HTTP connection on its own, fed bytes directly (no sockets): every way to split a
 * pipelined input gives the same responses as the whole input at once, with the input buffer scribbled
 * over after each read (as the shard's slab is reused), and pipelining pauses parsing past 64 requests in
 * flight and resumes as they are answered.
 */
import { describe, expect, it } from 'vitest';
import type { FastHttpRequestHandler, FastRequest, ShardContext } from '../../../src/handler.js';
import {
  type ConnectionOwner,
  FastConnection,
  type FastListener,
} from '../../../src/workers/fast-http/connection.js';
import { Llhttp } from '../../../src/workers/fast-http/llhttp.js';
import type { Transport } from '../../../src/workers/fast-http/transport.js';

class FakeTransport implements Transport {
  readonly reusesInput = true;
  readonly output: Buffer[] = [];
  ended = false;
  paused = false;

  send(_connection: FastConnection, head: string, body: string | Uint8Array | null): void {
    this.output.push(Buffer.from(head, 'latin1'));
    if (body !== null) this.output.push(typeof body === 'string' ? Buffer.from(body) : Buffer.from(body));
  }

  sendChunk(_c: FastConnection, prefix: string, chunk: string | Uint8Array | null, suffix: string): void {
    this.output.push(Buffer.from(prefix, 'latin1'));
    if (chunk !== null) this.output.push(typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk));
    this.output.push(Buffer.from(suffix, 'latin1'));
  }

  end(): void {
    this.ended = true;
  }

  destroy(): void {}

  pause(_connection: FastConnection, paused: boolean): void {
    this.paused = paused;
  }

  congested(): boolean {
    return false;
  }

  get text(): string {
    return Buffer.concat(this.output).toString('latin1');
  }
}

const llhttp = new Llhttp();
const context = { shardId: 0, shards: 1, listenerId: 0 } as ShardContext;

function connection(handler: FastHttpRequestHandler): { c: FastConnection; transport: FakeTransport } {
  const transport = new FakeTransport();
  const owner: ConnectionOwner = {
    llhttp,
    transport,
    now: 0,
    draining: false,
    count() {},
    reportHandlerError(_listenerId, error) {
      throw error;
    },
    closed() {},
  };
  const listener: FastListener = {
    id: 0,
    handler,
    context,
    settings: {
      keepAliveTimeout: 5000,
      headersTimeout: 60_000,
      requestTimeout: 300_000,
      maxHeaderSize: 16_384,
      maxRequestsPerSocket: 0,
      idleTimeoutMs: 0,
    },
  };
  return { c: new FastConnection(0, listener, owner, () => {}), transport };
}

/** Feeds `input` in the given pieces through one reused buffer, scribbled over after each read. */
function feed(c: FastConnection, input: Buffer, cuts: readonly number[]): void {
  const slab = Buffer.alloc(input.length + 16);
  let at = 0;
  for (const end of [...cuts, input.length]) {
    if (end <= at) continue;
    input.copy(slab, 8, at, end);
    c.data(slab, 8, end - at);
    slab.fill(0xee);
    at = end;
  }
}

async function echo(request: FastRequest): Promise<string> {
  const body = Buffer.from(await request.bytes()).toString('latin1');
  return `${request.method} ${request.url} ${request.header('x-a')} ${JSON.stringify(request.headers)} ${body}`;
}

const INPUT = Buffer.from(
  'GET /first?a=1 HTTP/1.1\r\nHost: h\r\nX-A: one\r\nX-Long-Header-Name: a value that is long enough\r\n\r\n' +
    'POST /second HTTP/1.1\r\nHost: h\r\nX-A: two\r\nContent-Length: 11\r\n\r\nhello world' +
    'POST /third HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nX-A: 3\r\n\r\n3;x=y\r\nabc\r\n4\r\ndefg\r\n0\r\nT: v\r\n\r\n' +
    'GET /fourth HTTP/1.1\r\nHost: h\r\nX-A: a\r\nx-a: b\r\n\r\n',
  'latin1',
);

async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
}

describe('FastConnection', () => {
  it.each([
    [
      'synchronous',
      (request: FastRequest) =>
        `${request.method} ${request.url} ${request.header('x-a')} ${JSON.stringify(request.headers)}`,
    ],
    ['asynchronous', echo],
  ] as const)('answers the same for every split of pipelined input (%s handler)', async (_kind, handler) => {
    const whole = connection(handler);
    feed(whole.c, INPUT, []);
    await settle();
    const reference = whole.transport.text;
    expect(reference.match(/HTTP\/1\.1 200 OK/g)).toHaveLength(4);
    for (let cut = 1; cut < INPUT.length; cut++) {
      const split = connection(handler);
      feed(split.c, INPUT, [cut]);
      await settle();
      expect(split.transport.text, `split at ${cut}`).toBe(reference);
    }
    const bytewise = connection(handler);
    feed(
      bytewise.c,
      INPUT,
      Array.from({ length: INPUT.length }, (_, i) => i),
    );
    await settle();
    expect(bytewise.transport.text).toBe(reference);
  });

  it('pauses parsing past 64 requests in flight and resumes as they are answered, in order', async () => {
    const waiting: (() => void)[] = [];
    const { c, transport } = connection((request) => {
      const path = request.path;
      return new Promise((resolve) => waiting.push(() => resolve(`${path}\n`)));
    });
    const requests = Array.from({ length: 200 }, (_, i) => `GET /${i} HTTP/1.1\r\nHost: h\r\n\r\n`).join('');
    feed(c, Buffer.from(requests), []);
    expect(waiting.length).toBe(64);
    expect(transport.paused).toBe(true);
    let answered = 0;
    while (waiting.length > answered) {
      const batch = waiting.slice(answered);
      answered = waiting.length;
      for (const resolve of batch.reverse()) resolve();
      await settle();
    }
    expect(answered).toBe(200);
    expect(transport.paused).toBe(false);
    const bodies = transport.text
      .split('\r\n\r\n')
      .slice(1)
      .map((part) => part.split('\n')[0]);
    expect(bodies.filter((body) => body !== '')).toEqual(Array.from({ length: 200 }, (_, i) => `/${i}`));
  });
});
