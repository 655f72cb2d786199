import { defineHttpHandler } from '../../src/index.js';
import { iterationsFromEnv, work } from './work.js';

const iterations = iterationsFromEnv();

/** `/heavy` does its CPU work on the shard's own event loop; anything else is light. */
export default defineHttpHandler((request, response) => {
  if (request.url === '/heavy') response.end(work(iterations));
  else response.end('light');
});
