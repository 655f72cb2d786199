/**
 * The baseline: node:dgram echo on every port, all in one thread, as a user without sockshard would
 * write it. `dgram-server.ts PORTS`; prints {"ports":[...]} once serving.
 */
import dgram from 'node:dgram';

const ports = process.argv[2]!.split(',').map(Number);
const bound = await Promise.all(
  ports.map(
    (port) =>
      new Promise<number>((resolve) => {
        const socket = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 << 20 });
        socket.on('message', (message, remote) => socket.send(message, remote.port, remote.address));
        socket.bind(port, '127.0.0.1', () => resolve(socket.address().port));
      }),
  ),
);
console.log(JSON.stringify({ ports: bound }));
process.once('SIGTERM', () => process.exit(0));
