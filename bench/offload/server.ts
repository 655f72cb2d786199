/** `server.ts inline|offload SHARDS THREADS`: a sockshard HTTP server in its own process; prints its port. */
import { createEngine } from '../../src/index.js';

const [mode, shards, threads] = process.argv.slice(2);
const engine = createEngine({
  shards: Number(shards),
  ...(mode === 'offload'
    ? { offload: { module: new URL('./work.ts', import.meta.url), threads: Number(threads) } }
    : {}),
}).http({
  port: 0,
  handler: new URL(mode === 'offload' ? './app-offload.ts' : './app-inline.ts', import.meta.url),
});
await engine.start();
console.log(engine.addresses()[0]!.port);
process.once('SIGTERM', () => void engine.close({ timeoutMs: 500 }).then(() => process.exit(0)));
