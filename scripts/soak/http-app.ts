import { defineHttpHandler } from '../../src/index.js';

/** The soak's HTTP app: `/` answers, `/throw` throws, `/exit` ends its shard, `/slow?ms=N` waits. */
export default defineHttpHandler((request, response, context) => {
  const url = new URL(request.url ?? '/', 'http://soak');
  if (url.pathname === '/throw') throw new Error('soak: handler failure');
  if (url.pathname === '/exit') {
    response.end('bye\n');
    setImmediate(() => process.exit(9));
    return;
  }
  if (url.pathname === '/slow') {
    setTimeout(() => response.end('slow\n'), Number(url.searchParams.get('ms') ?? 100));
    return;
  }
  response.end(`ok ${context.shardId}\n`);
});
