/**
 * The benchmark app (app.ts) on sockshard's fast HTTP path (`engine.http({ api: 'fast' })`): the same
 * routes, bodies, content type and CPU work as the node:http handler; each shard names its thread.
 */
import { defineFastHttpHandler } from '../../src/handler.js';
import { registerThread } from '../lib/cpu.js';
import { CPU_PATH, cpuBody, HELLO_BODY, HELLO_PATH, iterationsFromEnv } from './app.js';

const iterations = iterationsFromEnv();
const headers = { 'content-type': 'text/plain' };
const notFound = { status: 404 } as const;

export default defineFastHttpHandler({
  request: (request) =>
    request.url === HELLO_PATH
      ? { headers, body: HELLO_BODY }
      : request.url === CPU_PATH
        ? { headers, body: cpuBody(iterations) }
        : notFound,
  setup(context) {
    registerThread(`shard${context.shardId}`);
  },
});
