/**
 * One sockshard engine behind HAProxy (see haproxy.cfg and README.md): HTTP on `port`, the health check on
 * `healthPort`, and a close that says draining for `drainDelayMs` before it refuses anything.
 *
 *   npx tsx examples/haproxy/backend.ts --port 8081 --health-port 9081 [--shards N] [--drain-delay-ms 500]
 */
import { parseArgs } from 'node:util';
import { isMain } from '../../src/cli/program.js';
import { createEngine, type Engine } from '../../src/index.js'; // in your project: from 'sockshard'

export interface BackendOptions {
  readonly port: number;
  readonly healthPort: number;
  readonly shards?: number;
  /** HAProxy checks every 100 ms and takes a server out at the first 503: 500 ms is ample. */
  readonly drainDelayMs?: number;
  /** Answers name the backend, so that a client can tell which one served it. */
  readonly name?: string;
}

export async function startBackend(options: BackendOptions): Promise<Engine> {
  const handler = new URL('./handler.ts', import.meta.url);
  if (options.name !== undefined) handler.searchParams.set('name', options.name);
  const engine = createEngine({
    shards: options.shards ?? 2,
    health: { port: options.healthPort, drainDelayMs: options.drainDelayMs ?? 500 },
  }).http({ port: options.port, handler });
  await engine.start();
  return engine;
}

if (isMain(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '8081' },
      'health-port': { type: 'string', default: '9081' },
      shards: { type: 'string' },
      'drain-delay-ms': { type: 'string', default: '500' },
    },
  });
  const port = Number(values.port);
  const engine = await startBackend({
    port,
    healthPort: Number(values['health-port']),
    drainDelayMs: Number(values['drain-delay-ms']),
    name: `:${port}`,
    ...(values.shards === undefined ? {} : { shards: Number(values.shards) }),
  });
  console.log(`serving on ${engine.addresses()[0]!.port}, health on ${engine.healthPort()}`);
  const close = () => void engine.close({ timeoutMs: 5_000 });
  process.once('SIGTERM', close);
  process.once('SIGINT', close);
}
