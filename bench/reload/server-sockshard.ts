/**
 * The sockshard server of bench/reload.ts, from the build (dist/): `server-sockshard.ts
 * '{"shards":2,"handover":"/tmp/x.sock"}'` serves app.mjs over HTTP on 127.0.0.1 with a hand-over socket
 * at that path. Started with the path of a running one, it takes that one's sockets over; the one handed
 * over says `{"handedOver": pid}` and exits once it has drained. SIGHUP: `engine.reload()`, then
 * `{"reloaded": generation}` (or `{"reloadFailed": message}`).
 */
import { announce } from '../lib/children.js';
import { startEngine } from '../lib/engine.js';

const { createEngine } = (await import(
  new URL('../../dist/src/index.js', import.meta.url).href
)) as typeof import('../../src/index.js');

const config = JSON.parse(process.argv[2]!) as { readonly shards: number; readonly handover: string };
const engine = createEngine({
  shards: config.shards,
  handover: { path: config.handover },
  closeTimeoutMs: 5_000,
}).http({ host: '127.0.0.1', port: 0, handler: new URL('./app.mjs', import.meta.url) });
const say = (message: object) => console.log(JSON.stringify(message));
engine.on('handed-over', (successor) => {
  say({ handedOver: successor });
  engine.once('close', () => process.exit(0));
});
process.on('SIGHUP', () => {
  engine.reload().then(
    () => say({ reloaded: engine.stats().shards[0]!.generation }),
    (error: Error) => say({ reloadFailed: error.message }),
  );
});
await startEngine(engine);
announce({ port: engine.addresses()[0]!.port }, () => engine.close({ timeoutMs: 1_000 }));
