import { createInterface } from 'node:readline';
import { defineTcpHandler } from '../../src/index.js';

/** The soak's TCP app: echoes; a line "ping N" pings 127.0.0.1 N times (when the engine serves ICMP). */
export default defineTcpHandler({
  connection(socket, context) {
    socket.on('data', (data) => {
      if (!data.toString('latin1').startsWith('ping ')) socket.write(data);
    });
    createInterface({ input: socket }).on('line', async (line) => {
      if (!line.startsWith('ping ')) return;
      try {
        const result = await context.ping('127.0.0.1', {
          count: Number(line.slice(5)),
          intervalMs: 0,
          timeoutMs: 1_000,
        });
        socket.write(`pong ${result.received}/${result.transmitted}\n`);
      } catch (error) {
        socket.write(`pong error ${(error as { code?: string }).code}\n`);
      }
    });
  },
});
