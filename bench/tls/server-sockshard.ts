/**
 * A sockshard server for bench/tls.ts, one listener kind per process:
 * `server-sockshard.ts '{"shards":2,"kind":"https","key":"<path>","cert":"<path>"}'` (kind `http2`: HTTP/2
 * over TLS). The shards share one set of session-ticket keys (made by the coordinator).
 */
import { createEngine } from '../../src/index.js';
import { announce } from '../lib/children.js';
import { startEngine } from '../lib/engine.js';
import { type CredentialFiles, MAX_STREAMS } from './app.js';

const config = JSON.parse(process.argv[2]!) as CredentialFiles & {
  readonly shards: number;
  readonly kind: 'https' | 'http2';
};
const engine = createEngine({ shards: config.shards });
const listener = { host: '127.0.0.1', port: 0, key: config.key, cert: config.cert };
if (config.kind === 'https') {
  engine.https({ ...listener, handler: new URL('./sockshard-app.ts', import.meta.url) });
} else {
  engine.http2({
    ...listener,
    maxConcurrentStreams: MAX_STREAMS,
    handler: new URL('./sockshard-h2-app.ts', import.meta.url),
  });
}
await startEngine(engine);
announce({ port: engine.addresses()[0]!.port }, () => engine.close({ timeoutMs: 1_000 }));
