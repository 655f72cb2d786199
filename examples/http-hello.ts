/**
 * http-hello: an HTTP server on every core, with `engine.http`. Every shard runs a `node:http` server with
 * http-hello/handler.ts; the coordinator (this thread) accepts and hands each connection to the shard with
 * the fewest open connections. Run as a script it prints `engine.stats()` every 5 seconds.
 *
 *   npx tsx examples/http-hello.ts [--port 8080] [--shards N] [--host IP] [--stats S]   (= sockshard serve http-hello --stats 5)
 *   curl http://127.0.0.1:8080/
 */
import { besideExample, type ExampleOptions, type RunningExample } from '../src/cli/example.js';
import { isMain, runExample } from '../src/cli/program.js';
import { createEngine } from '../src/index.js'; // in your project: from 'sockshard'

export const DEFAULT_PORT = 8080;

export async function start(options: ExampleOptions = {}): Promise<RunningExample> {
  const host = options.host ?? '127.0.0.1';
  const engine = createEngine(options.engine).http({
    host,
    port: options.port ?? DEFAULT_PORT,
    handler: besideExample('./http-hello/handler.js', import.meta.url),
    keepAliveTimeout: 5_000,
  });
  await engine.start();
  return { engine, protocol: 'http', host, port: engine.addresses()[0]!.port };
}

if (isMain(import.meta.url)) process.exitCode = await runExample('http-hello', start, { stats: 5 });
