/**
 * The tcp-echo handler module. sockshard imports it in every shard (worker thread); the coordinator hands
 * each accepted connection to one shard, which calls `connection()` with an ordinary `net.Socket`.
 */
import type { Socket } from 'node:net';
import { defineTcpHandler } from '../../src/index.js'; // in your project: from 'sockshard'

/** This shard's open connections (module state is per shard: each shard imports its own copy). */
const open = new Set<Socket>();

export default defineTcpHandler({
  connection(socket) {
    open.add(socket);
    socket.once('close', () => open.delete(socket));
    // Every byte back, with back-pressure (pipe pauses reading while the write side is full).
    socket.pipe(socket);
  },
  // engine.close() began: stop echoing and end each connection (what a shard has read, it has already
  // written back: pipe writes on every 'data'). Whatever is still open at the close timeout is destroyed.
  drain() {
    for (const socket of open) {
      socket.unpipe(socket);
      socket.end();
    }
  },
});
