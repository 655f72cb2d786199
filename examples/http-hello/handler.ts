/**
 * The http-hello handler module: a `node:http` request listener that sockshard runs in every shard. Each
 * shard has its own `http.Server`; the coordinator hands it whole connections (keep-alive requests on one
 * connection stay on its shard).
 */
import { defineHttpHandler } from '../../src/index.js'; // in your project: from 'sockshard'

export default defineHttpHandler((request, response, { shardId }) => {
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' });
    response.end('only GET and HEAD here\n');
    return;
  }
  response.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'x-shard': String(shardId) });
  response.end(`hello from shard ${shardId}\n`);
});
