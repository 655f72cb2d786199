/** A sockshard HTTP server for bench/offload.ts: `server.ts '{"mode":"offload","shards":2,"threads":2,"nice":0}'`. */
import { createEngine } from '../../src/index.js';
import { announce } from '../lib/children.js';
import { startEngine } from '../lib/engine.js';

const config = JSON.parse(process.argv[2]!) as {
  mode: 'inline' | 'offload';
  shards: number;
  threads: number;
  nice?: number;
};
const handler = new URL('./app.ts', import.meta.url);
handler.searchParams.set('mode', config.mode);
const engine = createEngine({
  shards: config.shards,
  ...(config.mode === 'offload'
    ? {
        offload: {
          module: new URL('./work.ts', import.meta.url),
          threads: config.threads,
          ...(config.nice === undefined ? {} : { niceIncrement: config.nice }),
        },
      }
    : {}),
}).http({ port: 0, handler });
await startEngine(engine);
announce({ port: engine.addresses()[0]!.port }, () => engine.close({ timeoutMs: 500 }));
