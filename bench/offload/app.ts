/**
 * The offload benchmark's app, inline or offloaded by the URL's query (`?mode=offload`): `/heavy` does
 * ~5 ms of CPU work, on the shard's own event loop or in its piscina pool; anything else is light.
 */
import { defineHttpHandler } from '../../src/index.js';
import { registerThread } from '../lib/cpu.js';
import { iterationsFromEnv, work } from './work.js';

const iterations = iterationsFromEnv();
const offload = new URL(import.meta.url).searchParams.get('mode') === 'offload';

export default defineHttpHandler({
  async request(request, response, context) {
    if (request.url !== '/heavy') response.end('light');
    else response.end(offload ? await context.offload<string>(iterations) : work(iterations));
  },
  setup(context) {
    registerThread(`shard${context.shardId}`);
  },
});
