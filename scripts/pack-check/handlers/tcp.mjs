// A TCP handler module: echoes every byte back.
import { defineTcpHandler } from 'sockshard';

export default defineTcpHandler({
  connection(socket) {
    socket.pipe(socket);
  },
});
