// A TypeScript consumer of the installed package, checked with `tsc --noEmit` under strict settings: the
// public API's types must be complete (no implicit any) and must reject misuse.

import {
  createEngine,
  defineHttpHandler,
  defineTcpHandler,
  defineUdpHandler,
  type EngineStats,
  HandlerLoadError,
  SockshardError,
} from 'sockshard';
import { createRing, RingConsumer, RingProducer } from 'sockshard/ring';

export const http = defineHttpHandler(async (request, response, context) => {
  const shard: number = context.shardId;
  const rtt = await context.ping('127.0.0.1', { count: 1 });
  response.end(`${request.method} on shard ${shard}: ${rtt.rtt?.avgMs ?? 'no reply'}\n`);
});

export const tcp = defineTcpHandler({
  connection(socket, { shardId }) {
    socket.end(`shard ${shardId}\n`);
  },
  shardMessage(data: Uint8Array, fromShard: number) {
    console.log(fromShard, data.byteLength);
  },
});

export const udp = defineUdpHandler({
  message(data, peer, context) {
    context.reply(peer, data);
  },
});

export async function main(): Promise<number> {
  const engine = createEngine({ shards: 2, restart: { maxRestarts: 3 } })
    .http({ port: 8080, handler: new URL('./http.js', import.meta.url), balance: 'least-connections' })
    .tcp({ host: '::', port: 7000, handler: './tcp.js' })
    .udp({ ports: { from: 5300, to: 5301 }, handler: new URL('./udp.js', import.meta.url), io: 'batched' });
  engine.on('handler-error', (error) => console.error(error.message));
  try {
    await engine.start();
  } catch (error) {
    if (error instanceof HandlerLoadError) console.error(error.module, error.reason);
    else if (error instanceof SockshardError) console.error(error.code);
    throw error;
  }
  const stats: EngineStats = engine.stats();
  const ring = createRing({ capacity: 1 << 16 });
  const producer = new RingProducer(ring);
  const consumer = new RingConsumer(ring);
  const offset = producer.claim(8, 1);
  if (offset >= 0) {
    producer.bytes.set([1, 2, 3, 4, 5, 6, 7, 8], offset);
    producer.commit();
  }
  consumer.drain((_bytes, _offset, length, type) => console.log(length, type));
  // @ts-expect-error: a port is a number
  createEngine().tcp({ port: '7000', handler: './tcp.js' });
  // @ts-expect-error: no such balancer
  createEngine().http({ port: 0, handler: './http.js', balance: 'random' });
  await engine.close({ timeoutMs: 5_000 });
  return stats.total.requests + stats.shards.length;
}
