import { defineHttpHandler } from '../../src/index.js';
import { iterationsFromEnv } from './work.js';

const iterations = iterationsFromEnv();

/** `/heavy` hands its CPU work to the shard's piscina pool; anything else is light. */
export default defineHttpHandler(async (request, response, context) => {
  if (request.url === '/heavy') response.end(await context.offload<string>(iterations));
  else response.end('light');
});
