// A node:cluster worker of bench/reload.ts: bench/http's `GET /` (hello world) on node:http. Plain
// JavaScript, so that a worker forked during the measurement starts as a user's compiled app does.
import { createServer } from 'node:http';

const server = createServer((_request, response) => {
  response.setHeader('content-type', 'text/plain');
  response.end('hello world\n');
});
server.on('clientError', (_error, socket) => socket.destroy());
server.listen({ host: '127.0.0.1', port: 0 });
