import { once } from 'node:events';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import net from 'node:net';
import type { Worker } from 'node:worker_threads';
import { afterEach, beforeEach, expect } from 'vitest';
import { startWorker } from '../../src/engine/start-worker.js';

/** Open fds of this process (the directory read itself holds one, on both sides of a comparison). */
export function openFdCount(): number {
  return readdirSync('/proc/self/fd').length;
}

/** TCP states as /proc/net/tcp writes them (hex). */
export const TCP_CLOSE_WAIT = '08';
const TCP_LISTEN = '0A';

/**
 * The TCP sockets whose local port is `port` (IPv4 and IPv6), from /proc/net/tcp{,6}: their state and
 * inode (0 once no fd holds the socket, as in TIME-WAIT).
 */
export function tcpSocketsOn(port: number): { readonly state: string; readonly inode: string }[] {
  const local = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const sockets: { state: string; inode: string }[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields[1]?.endsWith(local)) sockets.push({ state: fields[3]!, inode: fields[9]! });
    }
  }
  return sockets;
}

/** How many fds of this process hold a connection (not a listening socket) whose local port is `port`. */
export function connectionFdsOn(port: number): number {
  const inodes = new Set(
    tcpSocketsOn(port)
      .filter((socket) => socket.state !== TCP_LISTEN && socket.inode !== '0')
      .map((socket) => `socket:[${socket.inode}]`),
  );
  let held = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (inodes.has(readlinkSync(`/proc/self/fd/${fd}`))) held++;
    } catch {} // the directory listing's own fd, gone already
  }
  return held;
}

/**
 * Registers teardown hooks for the calling test file: each test's deferred cleanups run (last first),
 * then the process must hold no more fds than before the test. Node closes a destroyed socket's fd on a
 * later tick, so the count is polled for a short, bounded while before failing.
 */
export function useTeardown(): (cleanup: () => unknown) => void {
  const cleanups: (() => unknown)[] = [];
  let before = 0;
  beforeEach(() => {
    before = openFdCount();
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    const deadline = Date.now() + 2_000;
    while (openFdCount() > before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(openFdCount(), 'open fds after the test').toBe(before);
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
