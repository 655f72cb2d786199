/**
 * A UDP echo server for bench/udp.ts, announcing its ports: `server.ts '{"kind":"dgram","ports":2}'` is
 * node:dgram on one thread; `{"kind":"sockshard","ports":2,"shards":2,"io":"batched"}` (or
 * `"reusePort":true`) is an engine whose ports each belong to one shard, in order.
 */
import dgram from 'node:dgram';
import { once } from 'node:events';
import { createEngine } from '../../src/index.js';
import { announce } from '../lib/children.js';
import { startEngine } from '../lib/engine.js';

interface Config {
  readonly kind: 'dgram' | 'sockshard';
  readonly ports: number;
  readonly shards?: number;
  readonly reusePort?: boolean;
  readonly io?: 'dgram' | 'batched';
}

const RECEIVE_BUFFER = 4 << 20;
const config = JSON.parse(process.argv[2]!) as Config;

async function bind(port: number): Promise<dgram.Socket> {
  const socket = dgram.createSocket({ type: 'udp4', recvBufferSize: RECEIVE_BUFFER });
  socket.bind(port, '127.0.0.1');
  await once(socket, 'listening');
  return socket;
}

if (config.kind === 'dgram') {
  const sockets = await Promise.all(Array.from({ length: config.ports }, () => bind(0)));
  for (const socket of sockets)
    socket.on('message', (message, peer) => socket.send(message, peer.port, peer.address));
  const ports = sockets.map((socket) => socket.address().port);
  announce({ port: ports[0]!, ports }, () => {
    for (const socket of sockets) socket.close();
  });
} else {
  // Free ports found by binding port 0, so that each can be given to its own shard (port 0 in the engine
  // would leave the owner to `port % shards`).
  const probes = await Promise.all(Array.from({ length: config.ports }, () => bind(0)));
  const ports = probes.map((socket) => socket.address().port);
  await Promise.all(probes.map((socket) => new Promise<void>((resolve) => socket.close(resolve))));
  const engine = createEngine({ shards: config.shards ?? 2 }).udp({
    ports,
    handler: new URL('./echo-handler.ts', import.meta.url),
    reusePort: config.reusePort ?? false,
    shardFor: (port, shards) => ports.indexOf(port) % shards,
    io: config.io ?? 'dgram',
    recvBufferSize: RECEIVE_BUFFER,
  });
  await startEngine(engine);
  announce({ port: ports[0]!, ports }, () => engine.close({ timeoutMs: 100 }));
}
