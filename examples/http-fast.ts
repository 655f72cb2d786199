/**
 * http-fast: the same kind of server as http-hello, on sockshard's fast HTTP/1.1 path instead of
 * `node:http` (`engine.http({ api: 'fast' })`): each shard owns its connections natively, reads and writes
 * them in batches, and parses with llhttp. Routes: `/`, `/json`, `POST /echo`, `/count?to=N` (streamed).
 *
 *   npx tsx examples/http-fast.ts [--port 8080] [--shards N] [--host IP] [--stats S]   (= sockshard serve http-fast)
 *   curl http://127.0.0.1:8080/   ·   curl -d hello http://127.0.0.1:8080/echo   ·   wrk http://127.0.0.1:8080/
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
    api: 'fast',
    handler: besideExample('./http-fast/handler.js', import.meta.url),
  });
  await engine.start();
  return { engine, protocol: 'http', host, port: engine.addresses()[0]!.port };
}

if (isMain(import.meta.url)) process.exitCode = await runExample('http-fast', start);
