/**
 * The http-fast handler module: sockshard's own HTTP/1.1 path (`engine.http({ api: 'fast' })`). A handler
 * gets a lean request (method, path, query, lazy headers, the body as bytes, text or chunks) and returns
 * its response: a string, bytes, or `{ status, headers, body }`, at once or as a promise. No node:http
 * objects or streams are made per request, which is where the speed comes from.
 */
import { defineFastHttpHandler } from '../../src/index.js'; // in your project: from 'sockshard'

const text = { 'content-type': 'text/plain; charset=utf-8' };

async function* countTo(n: number): AsyncIterable<string> {
  for (let i = 1; i <= n; i++) yield `${i}\n`;
}

export default defineFastHttpHandler(async (request, { shardId }) => {
  switch (request.path) {
    case '/':
      return { headers: { ...text, 'x-shard': String(shardId) }, body: `hello from shard ${shardId}\n` };
    case '/json':
      return {
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ shard: shardId, agent: request.header('user-agent') ?? null }),
      };
    case '/echo':
      // The body arrives as the client sends it; bytes() waits for all of it.
      if (request.method !== 'POST')
        return { status: 405, headers: { ...text, allow: 'POST' }, body: 'POST only\n' };
      return { headers: { 'content-type': 'application/octet-stream' }, body: await request.bytes() };
    case '/count':
      // A streamed body: chunked transfer coding, one chunk per line.
      return { headers: text, body: countTo(Number(new URLSearchParams(request.query).get('to') ?? 5)) };
    default:
      return { status: 404, headers: text, body: 'not found\n' };
  }
});
