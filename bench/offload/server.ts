/**
 * `server.ts inline|offload SHARDS THREADS [NICE]`: a sockshard HTTP server in its own process; prints its
 * port. NICE: the pool's niceIncrement (default: the engine's).
 */
import { createEngine } from '../../src/index.js';
import { spareStandingBy } from '../lib/engine.js';

const [mode, shards, threads, nice] = process.argv.slice(2);
const engine = createEngine({
  shards: Number(shards),
  ...(mode === 'offload'
    ? {
        offload: {
          module: new URL('./work.ts', import.meta.url),
          threads: Number(threads),
          ...(nice === undefined ? {} : { niceIncrement: Number(nice) }),
        },
      }
    : {}),
}).http({
  port: 0,
  handler: new URL(mode === 'offload' ? './app-offload.ts' : './app-inline.ts', import.meta.url),
});
await engine.start();
await spareStandingBy(engine);
console.log(engine.addresses()[0]!.port);
process.once('SIGTERM', () => void engine.close({ timeoutMs: 500 }).then(() => process.exit(0)));
