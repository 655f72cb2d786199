// A plain-JavaScript app that embeds sockshard, as the README's "Install and embed" shows: HTTP, TCP and
// UDP listeners on every shard. It prints where it listens (one JSON line); on a line on stdin it prints
// engine.stats() and closes.
import { createEngine } from 'sockshard';

const engine = createEngine({ shards: 2 })
  .http({ port: 0, handler: new URL('./handlers/http.mjs', import.meta.url) })
  .tcp({ port: 0, handler: new URL('./handlers/tcp.mjs', import.meta.url) })
  .udp({ ports: [0], handler: new URL('./handlers/udp.mjs', import.meta.url) });
engine.on('handler-error', (error) => console.error(error));
await engine.start();
const [http, tcp] = engine.addresses();
console.log(JSON.stringify({ http: http.port, tcp: tcp.port, udp: engine.udpPorts()[0].port }));

process.stdin.once('data', async () => {
  console.log(JSON.stringify(engine.stats().total));
  await engine.close();
  process.stdin.pause();
});
