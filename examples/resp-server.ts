/**
 * resp-server: a small Redis-protocol (RESP2) server on `engine.tcp`, fast enough to point redis-benchmark
 * at. Commands: PING, ECHO, SET key value, GET, DEL, EXISTS, INCR, DECR, INCRBY, DECRBY, DBSIZE, FLUSHDB,
 * FLUSHALL, CONFIG GET, COMMAND, SELECT 0, CLIENT SETNAME, QUIT; pipelining and inline commands work.
 *
 * The keyspace is per shard: each shard keeps its own Map, and a connection sees the keys of the shard that
 * serves it. With several shards, a SET on one connection and a GET on another can miss each other. Run
 * with `--shards 1` for one keyspace, or route each key to an owner shard with `context.sendToShard` (a
 * fine next exercise).
 *
 *   npx tsx examples/resp-server.ts [--port 6379] [--shards N] [--host IP] [--stats S]   (= sockshard serve resp-server)
 *   redis-cli -p 6379 set greeting hello && redis-cli -p 6379 get greeting
 *   redis-benchmark -p 6379 -t ping,set,get,incr -q [-P 16]
 */
import { besideExample, type ExampleOptions, type RunningExample } from '../src/cli/example.js';
import { isMain, runExample } from '../src/cli/program.js';
import { createEngine } from '../src/index.js'; // in your project: from 'sockshard'

export const DEFAULT_PORT = 6379;

export async function start(options: ExampleOptions = {}): Promise<RunningExample> {
  const host = options.host ?? '127.0.0.1';
  const engine = createEngine(options.engine).tcp({
    host,
    port: options.port ?? DEFAULT_PORT,
    handler: besideExample('./resp-server/handler.js', import.meta.url),
  });
  await engine.start();
  return { engine, protocol: 'tcp', host, port: engine.addresses()[0]!.port };
}

if (isMain(import.meta.url)) process.exitCode = await runExample('resp-server', start);
