/**
 * A sockshard UDP echo server in its own process: `sockshard-server.ts PORTS SHARDS REUSEPORT IO`.
 * Prints {"ports":[...]} once serving; closes on SIGTERM.
 */
import { createEngine } from '../../src/index.js';
import { spareStandingBy } from '../lib/engine.js';

const [ports, shards, reusePort, io] = process.argv.slice(2);
const engine = createEngine({ shards: Number(shards) }).udp({
  ports: ports!.split(',').map(Number),
  handler: new URL('./echo-handler.ts', import.meta.url),
  reusePort: reusePort === 'true',
  io: io === 'batched' ? 'batched' : 'dgram',
  recvBufferSize: 4 << 20,
});
await engine.start();
await spareStandingBy(engine);
console.log(JSON.stringify({ ports: engine.udpPorts().map((p) => p.port), io: engine.udpPorts()[0]?.io }));
process.once('SIGTERM', () => {
  console.error(JSON.stringify({ stats: engine.udpPorts() }));
  void engine.close({ timeoutMs: 100 }).then(() => process.exit(0));
});
