/**
 * The Node baselines for bench/tls.ts, one kind per process: `server-node.ts '{"workers":0,"kind":"https",
 * "key":"<path>","cert":"<path>"}'` serves on this one thread, `{"workers":N}` is node:cluster with N
 * workers (bench/lib/node-server.ts). Kind `https` is node:https, `http2` node:http2's secure server, both
 * with the app of app.ts.
 */
import { readFileSync } from 'node:fs';
import { createSecureServer } from 'node:http2';
import { createServer } from 'node:https';
import type { Server } from 'node:tls';
import { serveNode } from '../lib/node-server.js';
import { type CredentialFiles, helloApp, MAX_STREAMS } from './app.js';

const config = JSON.parse(process.argv[2]!) as CredentialFiles & {
  readonly workers: number;
  readonly kind: 'https' | 'http2';
};

await serveNode(
  config.workers,
  (): Server => {
    const credentials = { key: readFileSync(config.key), cert: readFileSync(config.cert) };
    const server =
      config.kind === 'https'
        ? createServer(credentials, helloApp)
        : createSecureServer({ ...credentials, settings: { maxConcurrentStreams: MAX_STREAMS } }, helloApp);
    return server.on('tlsClientError', (_error, socket) => socket.destroy());
  },
  (server) => server.close(),
);
