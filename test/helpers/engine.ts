import { once } from 'node:events';
import net from 'node:net';
import type { Engine } from '../../src/index.js';

/** A handler module from test/fixtures/handlers. */
export function fixtureHandler(name: string): URL {
  return new URL(`../fixtures/handlers/${name}`, import.meta.url);
}

/** The port of the engine's TCP or HTTP listener `listenerId` (after start). */
export function portOf(engine: Engine, listenerId = 0): number {
  const listener = engine.addresses().find((address) => address.id === listenerId);
  if (listener === undefined) throw new Error(`no TCP/HTTP listener ${listenerId}`);
  return listener.port;
}

/** Opens a connection to a shard-id handler and resolves with the shard that serves it (held open). */
export async function shardOf(
  port: number,
  host = '127.0.0.1',
  localAddress?: string,
): Promise<{ shard: number; socket: net.Socket }> {
  const socket = net.connect({ port, host, ...(localAddress === undefined ? {} : { localAddress }) });
  socket.setEncoding('utf8');
  const [line] = (await once(socket, 'data')) as [string];
  return { shard: Number(line.trim()), socket };
}

/** Ends a connection gracefully and waits until it is closed. */
export async function hangUp(socket: net.Socket): Promise<void> {
  if (socket.closed) return;
  const closed = once(socket, 'close');
  socket.end();
  await closed;
}

/** Resolves with the ms it took for `condition` to hold; rejects after `timeoutMs`. */
export async function until(condition: () => boolean, timeoutMs: number): Promise<number> {
  const started = performance.now();
  while (!condition()) {
    if (performance.now() - started > timeoutMs) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return performance.now() - started;
}

/** Runs `task` over `items` with at most `limit` in flight. */
export async function inBatches<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = [];
  for (let i = 0; i < items.length; i += limit) {
    results.push(...(await Promise.all(items.slice(i, i + limit).map(task))));
  }
  return results;
}
