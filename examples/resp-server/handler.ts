/**
 * The resp-server handler module, run in every shard: it parses each connection's bytes into commands
 * (many per chunk when the client pipelines) and writes all their replies with one write per chunk.
 */
import type { Socket } from 'node:net';
import { defineTcpHandler } from '../../src/index.js'; // in your project: from 'sockshard'
import { errorReply, Keyspace, OK } from './keyspace.js';
import { RespParser } from './resp-parser.js';

/** This shard's data: module state, so one per shard (each shard imports this module in its own thread). */
const keyspace = new Keyspace();
const open = new Set<Socket>();

export default defineTcpHandler({
  connection(socket) {
    const parser = new RespParser();
    open.add(socket);
    socket.once('close', () => open.delete(socket));
    socket.on('data', (chunk: Buffer) => {
      const { commands, error } = parser.push(chunk);
      const replies: Buffer[] = [];
      let quit = error !== undefined;
      for (const command of commands) {
        if (command[0]!.length === 4 && command[0]!.toString('latin1').toUpperCase() === 'QUIT') {
          replies.push(OK);
          quit = true;
          break;
        }
        replies.push(keyspace.execute(command));
      }
      if (error !== undefined) replies.push(errorReply(`ERR Protocol error: ${error}`));
      if (replies.length > 0) {
        const written = socket.write(replies.length === 1 ? replies[0]! : Buffer.concat(replies));
        // Back-pressure: a client that pipelines faster than it reads gets no more replies buffered here
        // until the kernel has taken these.
        if (!written) {
          socket.pause();
          socket.once('drain', () => socket.resume());
        }
      }
      if (quit) {
        socket.removeAllListeners('data');
        socket.end();
      }
    });
  },
  // engine.close() began: end every connection once its replies are written (clients reconnect elsewhere).
  drain() {
    for (const socket of open) socket.end();
  },
});
