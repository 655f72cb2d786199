/**
 * tcp-echo: a TCP echo server on every core, with `engine.tcp`. This thread is the coordinator: it accepts
 * each connection and hands its file descriptor to a shard (a worker thread), which runs
 * tcp-echo/handler.ts and echoes every byte back.
 *
 *   npx tsx examples/tcp-echo.ts [--port 7000] [--shards N] [--host IP] [--stats S]   (= sockshard serve tcp-echo)
 *   nc 127.0.0.1 7000
 */
import { besideExample, type ExampleOptions, type RunningExample } from '../src/cli/example.js';
import { isMain, runExample } from '../src/cli/program.js';
import { createEngine } from '../src/index.js'; // in your project: from 'sockshard'

export const DEFAULT_PORT = 7000;

export async function start(options: ExampleOptions = {}): Promise<RunningExample> {
  const host = options.host ?? '127.0.0.1';
  const engine = createEngine(options.engine).tcp({
    host,
    port: options.port ?? DEFAULT_PORT,
    handler: besideExample('./tcp-echo/handler.js', import.meta.url),
    balance: 'least-connections', // the default: the shard with the fewest open connections
  });
  await engine.start();
  return { engine, protocol: 'tcp', host, port: engine.addresses()[0]!.port };
}

if (isMain(import.meta.url)) process.exitCode = await runExample('tcp-echo', start);
