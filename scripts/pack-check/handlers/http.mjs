// An HTTP handler module, as a user writes one: it runs in every shard.
import { defineHttpHandler } from 'sockshard';

export default defineHttpHandler((request, response, { shardId }) => {
  response.setHeader('content-type', 'text/plain');
  response.end(`${request.method} ${request.url} served by shard ${shardId}\n`);
});
