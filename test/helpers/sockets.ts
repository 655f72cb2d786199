import { once } from 'node:events';
import { readdirSync, readlinkSync } from 'node:fs';
import net from 'node:net';
import type { Worker } from 'node:worker_threads';
import { afterEach, beforeEach, expect } from 'vitest';
import { startWorker } from '../../src/engine/start-worker.js';

/** Open fds of this process (the directory read itself holds one, on both sides of a comparison). */
export function openFdCount(): number {
  return readdirSync('/proc/self/fd').length;
}

/** What each open fd is (`12 -> socket:[345]`), to name the ones a test left open. */
function openFds(): Set<string> {
  const fds = new Set<string>();
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      fds.add(`${fd} -> ${readlinkSync(`/proc/self/fd/${fd}`)}`);
    } catch {
      // the directory listing's own fd, closed already
    }
  }
  return fds;
}

/**
 * Registers teardown hooks for the calling test file: each test's deferred cleanups run (last first),
 * then the process must hold no more fds than before the test. Node closes a destroyed socket's fd on a
 * later tick, so the count is polled for a short, bounded while before failing.
 */
export function useTeardown(): (cleanup: () => unknown) => void {
  const cleanups: (() => unknown)[] = [];
  let before = 0;
  let fdsBefore = new Set<string>();
  beforeEach(() => {
    before = openFdCount();
    fdsBefore = openFds();
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    const deadline = Date.now() + 2_000;
    while (openFdCount() > before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    const left = [...openFds()].filter((fd) => !fdsBefore.has(fd));
    expect(openFdCount(), `open fds after the test (new: ${left.join(', ')})`).toBe(before);
  });
  return (cleanup) => {
    cleanups.push(cleanup);
  };
}

/** Connects and resolves once the kernel has completed the handshake (the peer need not accept yet). */
export async function connect(port: number, host: string, localAddress?: string): Promise<net.Socket> {
  const socket = net.connect({ port, host, ...(localAddress === undefined ? {} : { localAddress }) });
  await once(socket, 'connect');
  return socket;
}

/** Resolves with everything `socket` sends until it ends. */
export async function readAll(socket: net.Socket): Promise<Buffer> {
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  await once(socket, 'end');
  return Buffer.concat(chunks);
}

/** Destroys a socket and waits for its fd to be closed. */
export async function destroy(socket: net.Socket): Promise<void> {
  if (socket.closed) return;
  const closed = once(socket, 'close');
  socket.destroy();
  await closed;
}

/** 32-bit FNV-1a, the addon's peer-address hash, as an unsigned number. */
export function fnv1a(bytes: Iterable<number>): number {
  let hash = 0x811c9dc5;
  for (const byte of bytes) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  return hash >>> 0;
}

/** Runs a TypeScript fixture from test/fixtures/native in a worker thread. */
export function fixtureWorker(name: string, workerData: unknown): Worker {
  return startWorker(new URL(`../fixtures/native/${name}`, import.meta.url), { workerData });
}

/**
 * Resolves when `socket` has closed, whether it ended cleanly or was reset. (events.once would reject on
 * the 'error' of a reset, which is how a server or a dying shard may well end a connection.)
 */
export function closed(socket: net.Socket): Promise<void> {
  socket.on('error', () => {});
  return new Promise((resolve) => {
    if (socket.closed) resolve();
    else socket.once('close', () => resolve());
  });
}
