/**
 * Every byte of 100k pipelined requests and their responses, across the coordinator and two shard
 * threads: 20 connections of 5,000 requests each, written in seeded random slices (so heads and bodies
 * split anywhere), with Content-Length and chunked bodies of random bytes; the handler answers some of
 * them later than the next ones. Each response must be exactly the one its request asked for, in order.
 */
import { describe, expect, it } from 'vitest';
import { createEngine } from '../../../src/index.js';
import { fixtureHandler, portOf } from '../../helpers/engine.js';
import { parseResponses, WireClient } from '../../helpers/http-responses.js';
import { below, mulberry32 } from '../../helpers/prng.js';
import { useTeardown } from '../../helpers/sockets.js';

const defer = useTeardown();

const CONNECTIONS = 20;
const REQUESTS_PER_CONNECTION = 5_000;

interface Planned {
  readonly bytes: Buffer;
  readonly expected: Buffer;
}

function plan(connection: number, random: () => number): Planned[] {
  const requests: Planned[] = [];
  for (let seq = 0; seq < REQUESTS_PER_CONNECTION; seq++) {
    const url = `/s/${connection}/${seq}?q=${random().toString(36)}`;
    const token = random().toString(16);
    const body = Buffer.alloc(below(random, 4) === 0 ? below(random, 3000) : 0);
    for (let i = 0; i < body.length; i++) body[i] = random() & 0xff;
    let head = `${body.length > 0 ? 'POST' : 'GET'} ${url} HTTP/1.1\r\nHost: x\r\nX-Token: ${token}\r\n`;
    let encoded: Buffer;
    if (body.length > 0 && below(random, 2) === 0) {
      head += 'Transfer-Encoding: chunked\r\n\r\n';
      const cut = below(random, body.length);
      const chunks = [body.subarray(0, cut), body.subarray(cut)].filter((chunk) => chunk.length > 0);
      encoded = Buffer.concat([
        ...chunks.flatMap((chunk) => [
          Buffer.from(`${chunk.length.toString(16)}\r\n`),
          chunk,
          Buffer.from('\r\n'),
        ]),
        Buffer.from('0\r\n\r\n'),
      ]);
    } else {
      head += body.length > 0 ? `Content-Length: ${body.length}\r\n\r\n` : '\r\n';
      encoded = body;
    }
    requests.push({
      bytes: Buffer.concat([Buffer.from(head, 'latin1'), encoded]),
      expected: Buffer.concat([Buffer.from(`${url} ${token} `, 'latin1'), body]),
    });
  }
  return requests;
}

/** Writes the requests in random slices, as fast as the socket takes them. */
async function writeAll(c: WireClient, requests: readonly Planned[], random: () => number): Promise<void> {
  const all = Buffer.concat(requests.map((request) => request.bytes));
  for (let at = 0; at < all.length; ) {
    const end = Math.min(all.length, at + 1 + below(random, 64 * 1024));
    const flushed = c.socket.write(all.subarray(at, end));
    at = end;
    if (!flushed) await new Promise((resolve) => c.socket.once('drain', resolve));
  }
}

/** Reads and checks responses as they arrive; resolves with how many matched. */
async function checkAll(c: WireClient, requests: readonly Planned[]): Promise<number> {
  let matched = 0;
  let rest: Buffer = Buffer.alloc(0);
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      rest = rest.length === 0 ? chunk : Buffer.concat([rest, chunk]);
      const { responses, used } = parseResponses(rest);
      rest = rest.subarray(used);
      for (const response of responses) {
        const expected = requests[matched]!.expected;
        if (response.status !== 200 || !response.body.equals(expected)) {
          reject(
            new Error(`response ${matched}: ${response.status} ${response.body.toString('latin1', 0, 80)}`),
          );
          return;
        }
        matched++;
      }
      if (matched === requests.length) {
        c.socket.off('data', onData);
        resolve();
      }
    };
    c.socket.on('data', onData);
    c.socket.once('close', () => reject(new Error(`closed after ${matched} responses`)));
  });
  return matched;
}

describe('fast path under pipelined load', () => {
  it('answers 100k pipelined requests on 20 connections across 2 shards, every byte checked', async () => {
    const engine = createEngine({ shards: 2, restart: { spare: false } }).http({
      port: 0,
      api: 'fast',
      handler: fixtureHandler('fast-stress.ts'),
      balance: 'round-robin',
    });
    await engine.start();
    defer(() => engine.close({ timeoutMs: 1000 }));
    const port = portOf(engine);
    const random = mulberry32(2026);
    const clients = await Promise.all(Array.from({ length: CONNECTIONS }, () => WireClient.connect(port)));
    for (const c of clients) defer(() => c.close());
    const plans = clients.map((_, connection) => plan(connection, random));
    const matched = await Promise.all(
      clients.map(async (c, i) => {
        const [count] = await Promise.all([checkAll(c, plans[i]!), writeAll(c, plans[i]!, random)]);
        return count;
      }),
    );
    expect(matched.reduce((a, b) => a + b, 0)).toBe(CONNECTIONS * REQUESTS_PER_CONNECTION);
    const perShard = engine.stats().shards.map((shard) => shard.requests);
    expect(perShard.every((requests) => requests > 0)).toBe(true);
    await expect.poll(() => engine.stats().total.requests).toBe(CONNECTIONS * REQUESTS_PER_CONNECTION);
  });
});
