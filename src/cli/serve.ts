/**
 * `sockshard serve`: runs an example, or a handler module of the user's, until SIGINT or SIGTERM, then lets
 * the engine close gracefully.
 */
import { once } from 'node:events';
import { createEngine, type EngineOptions, type EngineStats } from '../index.js';
import { exampleUrl, type RunningExample, type StartExample } from './example.js';
import { EXAMPLES } from './examples.js';
import type { UserModule } from './user-module.js';

export interface ServeFlags {
  readonly host?: string;
  readonly port?: number;
  readonly shards?: number;
  /** Print a stats line every this many seconds. */
  readonly stats?: number;
  /** Serve Prometheus metrics on this port. */
  readonly metricsPort?: number;
}

/** How long in-flight work may take to finish after a signal before the rest is destroyed. */
const CLOSE_TIMEOUT_MS = 5_000;

/** What `serve` runs: an example's `start`, or one made for a user's module by `userModuleServable`. */
export interface Servable {
  readonly name: string;
  readonly start: StartExample;
  /** A command to try it with, once it listens. */
  readonly tryIt?: (running: RunningExample) => string;
}

/** An example by name, as `serve` runs it. */
export function exampleServable(name: string, start: StartExample): Servable {
  const tryIt = EXAMPLES.find((example) => example.name === name)?.tryIt;
  return { name, start, ...(tryIt === undefined ? {} : { tryIt }) };
}

/** Serves a user's handler module on one listener of its kind (`--port`, default the kind's usual port). */
export function userModuleServable(module: UserModule): Servable {
  const { kind } = module;
  return {
    name: module.name,
    tryIt: kind.tryIt,
    start: async (options = {}) => {
      const host = options.host ?? '127.0.0.1';
      const engine = kind.listen(createEngine(options.engine), {
        host,
        port: options.port ?? kind.defaultPort,
        handler: module.url,
      });
      await engine.start();
      return { engine, protocol: kind.protocol, host, port: kind.boundPort(engine) };
    },
  };
}

/** Starts what it is given and resolves with the process exit code once it has closed (0 after a signal). */
export async function serve({ name, start, tryIt }: Servable, flags: ServeFlags): Promise<number> {
  const engineOptions: EngineOptions = {
    // The engine closes itself on SIGINT/SIGTERM (and stops listening for them as it begins, so a second
    // Ctrl-C during a slow drain ends the process the usual way).
    handleSignals: true,
    closeTimeoutMs: CLOSE_TIMEOUT_MS,
    ...(flags.shards === undefined ? {} : { shards: flags.shards }),
    ...(flags.metricsPort === undefined ? {} : { metrics: { port: flags.metricsPort, host: flags.host } }),
  };
  let running: RunningExample;
  try {
    running = await start({
      ...(flags.host === undefined ? {} : { host: flags.host }),
      ...(flags.port === undefined ? {} : { port: flags.port }),
      engine: engineOptions,
    });
  } catch (error) {
    console.error(`sockshard: ${name} did not start: ${describeError(error)}`);
    return 1;
  }
  const { engine } = running;
  const closed = once(engine, 'close');
  engine.on('error', (error) => console.error(`sockshard: ${describeError(error)}`));
  engine.on('handler-error', (error) => console.error(`sockshard: handler error: ${describeError(error)}`));
  const announceClose = (signal: NodeJS.Signals): void => {
    console.log(`${signal}: closing gracefully (up to ${CLOSE_TIMEOUT_MS / 1000} s; again to force)`);
  };
  process.once('SIGINT', announceClose);
  process.once('SIGTERM', announceClose);

  const { shards } = engine;
  console.log(`${name} listening on ${exampleUrl(running)} with ${shards} shard${shards === 1 ? '' : 's'}`);
  const metricsPort = engine.metricsPort();
  if (metricsPort !== undefined) console.log(`metrics on http://${running.host}:${metricsPort}/metrics`);
  if (tryIt !== undefined) console.log(`try: ${tryIt(running)}`);
  console.log('Ctrl-C to stop');

  const timer =
    flags.stats === undefined
      ? undefined
      : setInterval(() => console.log(formatStats(engine.stats())), flags.stats * 1000);
  await closed;
  clearInterval(timer);
  process.off('SIGINT', announceClose);
  process.off('SIGTERM', announceClose);
  console.log(`${name} closed`);
  return 0;
}

/** One line of the counters people watch: open connections per shard, requests, datagrams, errors. */
export function formatStats(stats: EngineStats): string {
  const { total } = stats;
  const perShard = stats.shards.map((shard) => `${shard.connections}${shard.alive ? '' : '!'}`).join('/');
  const parts = [
    `open ${total.connections} (per shard ${perShard})`,
    `served ${total.adopted + total.accepted}`,
  ];
  if (stats.listeners.some((listener) => listener.kind === 'http')) parts.push(`requests ${total.requests}`);
  if (stats.udp.length > 0) {
    const datagramsIn = stats.udp.reduce((sum, port) => sum + port.datagramsIn, 0);
    const datagramsOut = stats.udp.reduce((sum, port) => sum + port.datagramsOut, 0);
    parts.push(`datagrams in ${datagramsIn} out ${datagramsOut}`);
  }
  parts.push(`handler errors ${total.handlerErrors}`, `restarts ${total.restarts}`);
  return `stats: ${parts.join(', ')}`;
}

function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? `${code}: ${error.message}` : error.message;
}
