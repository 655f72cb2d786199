/**
 * One contender of `sockshard bench ./app.mjs`, in a process of its own, started by handler-bench.ts with
 * an IPC channel: the user's HTTP handler module served by sockshard (N shards), by node:cluster (N worker
 * processes, the same handler) or by one node:http thread. It says where it listens, reports the CPU time
 * its whole server has used when asked (every thread; for cluster, the primary and each worker), and
 * closes when told.
 *
 *   node bench-server.js <sockshard|cluster|http> <handler URL> <workers>
 *
 * The baselines give the handler what they can of a shard's context: `shardId` and `shards`;
 * `sendToShard`, `ping` and `offload` need sockshard and throw there (the request then fails and counts).
 */
import cluster from 'node:cluster';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createEngine, type HttpHandler, type ShardContext } from '../index.js';

export const CONTENDERS = ['sockshard', 'cluster', 'http'] as const;
export type Contender = (typeof CONTENDERS)[number];

/** The parent asks. */
export type BenchServerRequest = { readonly type: 'cpu' } | { readonly type: 'close' };
/** The server answers. */
export type BenchServerReply =
  | { readonly type: 'listening'; readonly port: number }
  | { readonly type: 'failed'; readonly message: string }
  /** User plus system CPU time of the whole server since it started, in microseconds. */
  | { readonly type: 'cpu'; readonly micros: number };

const HOST = '127.0.0.1';

function cpuMicros(): number {
  const { user, system } = process.cpuUsage();
  return user + system;
}

function send(message: BenchServerReply): void {
  process.send?.(message);
}

function unavailable(what: string): never {
  throw new Error(`${what} needs sockshard: it is not available in this baseline of sockshard bench`);
}

function baselineContext(shardId: number, shards: number): ShardContext {
  return {
    shardId,
    shards,
    listenerId: 0,
    sendToShard: () => unavailable('context.sendToShard'),
    ping: () => Promise.reject(new Error('context.ping needs sockshard')),
    offload: () => Promise.reject(new Error('context.offload needs sockshard')),
  };
}

/** A node:http server running the handler as a shard would (a rejected promise answers 500). */
async function startHttpServer(handlerUrl: string, context: ShardContext): Promise<http.Server> {
  const module = (await import(handlerUrl)) as { default?: unknown };
  const handler = (
    typeof module.default === 'function' ? { request: module.default } : module.default
  ) as HttpHandler;
  const { request } = handler;
  const fail = (response: http.ServerResponse) => () => {
    if (!response.headersSent) response.writeHead(500, { connection: 'close' });
    response.end();
  };
  // No try/catch around the call, as in a shard (V8 ran CPU-bound handlers inlined in a try block slower):
  // a synchronous throw is an uncaught exception, logged below; its request then times out and counts.
  const server = http.createServer((req, res) => {
    const result = request(req, res, context);
    if (typeof (result as Promise<void> | undefined)?.then === 'function') {
      (result as Promise<void>).catch(fail(res));
    }
  });
  await handler.setup?.(context, server);
  return server;
}

async function listen(server: http.Server, port: number): Promise<number> {
  server.listen(port, HOST);
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

/** A cluster worker: serves, and answers its primary's CPU questions. */
async function clusterWorker(handlerUrl: string, workers: number): Promise<void> {
  const shardId = Number(process.env.SOCKSHARD_BENCH_WORKER ?? 0);
  const server = await startHttpServer(handlerUrl, baselineContext(shardId, workers));
  // Every worker's listen(0) gets the same port: the primary picks it once and shares the handle.
  await listen(server, 0);
  process.on('message', (message: BenchServerRequest) => {
    if (message.type === 'cpu') send({ type: 'cpu', micros: cpuMicros() });
  });
}

async function clusterPrimary(workers: number): Promise<() => Promise<number>> {
  const children = Array.from({ length: workers }, (_, index) =>
    cluster.fork({ SOCKSHARD_BENCH_WORKER: String(index) }),
  );
  const [address] = (await Promise.all(children.map((child) => once(child, 'listening'))))[0] as [
    AddressInfo,
  ];
  send({ type: 'listening', port: address.port });
  return async () => {
    const answers = children.map(
      (child) =>
        new Promise<number>((resolve) => {
          const onMessage = (message: BenchServerReply) => {
            if (message.type !== 'cpu') return;
            child.off('message', onMessage);
            resolve(message.micros);
          };
          child.on('message', onMessage);
          child.send({ type: 'cpu' } satisfies BenchServerRequest);
        }),
    );
    const micros = await Promise.all(answers);
    return micros.reduce((sum, value) => sum + value, cpuMicros());
  };
}

async function main(): Promise<void> {
  const [contender, handlerUrl, workersText] = process.argv.slice(2);
  const workers = Number(workersText);
  if (!CONTENDERS.includes(contender as Contender) || handlerUrl === undefined || !(workers >= 1)) {
    throw new Error('usage: bench-server <sockshard|cluster|http> <handler URL> <workers>');
  }
  process.on('uncaughtException', (error) => console.error(`sockshard bench (${contender}):`, error));
  if (cluster.isWorker) return clusterWorker(handlerUrl, workers);

  let cpu: () => Promise<number> = async () => cpuMicros();
  let close: () => Promise<void>;
  if (contender === 'sockshard') {
    const engine = createEngine({ shards: workers, handleSignals: false }).http({
      host: HOST,
      port: 0,
      handler: handlerUrl,
    });
    await engine.start();
    send({ type: 'listening', port: engine.addresses()[0]!.port });
    close = () => engine.close({ timeoutMs: 1_000 });
  } else if (contender === 'cluster') {
    cpu = await clusterPrimary(workers);
    close = async () => {
      const exited = Object.values(cluster.workers ?? {}).map((worker) => {
        worker!.process.kill();
        return once(worker!, 'exit');
      });
      await Promise.all(exited);
    };
  } else {
    const server = await startHttpServer(handlerUrl, baselineContext(0, 1));
    send({ type: 'listening', port: await listen(server, 0) });
    close = async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    };
  }
  process.on('message', async (message: BenchServerRequest) => {
    if (message.type === 'cpu') send({ type: 'cpu', micros: await cpu() });
    else {
      await close();
      process.disconnect();
    }
  });
}

main().catch((error: unknown) => {
  send({ type: 'failed', message: error instanceof Error ? error.message : String(error) });
  process.exitCode = 1;
  process.disconnect?.();
});
