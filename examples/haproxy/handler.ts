import { defineHttpHandler } from '../../src/index.js'; // in your project: from 'sockshard'

/** Names the backend that served the request (`?name=` on this module's URL) and the shard. */
const name = new URL(import.meta.url).searchParams.get('name') ?? 'sockshard';
export default defineHttpHandler((_request, response, context) => {
  response.end(`${name} shard ${context.shardId}\n`);
});
