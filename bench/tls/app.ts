/**
 * What every bench:tls server serves and with which certificate, so that only the server differs: `GET /`
 * answers bench/http's `hello world` over HTTPS and over HTTP/2 (node:http2's compatibility API, one
 * handler for both), and every server loads the same RSA-2048 key and self-signed certificate, made once per
 * run. RSA because a handshake then costs the server (an RSA signature) far more than the client (an RSA
 * verification): the load generator is not what limits it.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import os from 'node:os';
import { join } from 'node:path';
import { generate } from 'selfsigned';
import { HELLO_BODY, HELLO_PATH } from '../http/app.js';

/** The files a server reads its credentials from (paths, as a deployment names them). */
export interface CredentialFiles {
  readonly key: string;
  readonly cert: string;
}

/** A fresh RSA-2048 key and self-signed certificate for `localhost`, written to a temporary directory. */
export async function writeCredentials(): Promise<CredentialFiles> {
  const now = Date.now();
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'rsa',
    keySize: 2048,
    algorithm: 'sha256',
    notBeforeDate: new Date(now - 60_000),
    notAfterDate: new Date(now + 86_400_000),
  });
  const dir = mkdtempSync(join(os.tmpdir(), 'sockshard-bench-tls-'));
  const files = { key: join(dir, 'key.pem'), cert: join(dir, 'cert.pem') };
  writeFileSync(files.key, pems.private);
  writeFileSync(files.cert, pems.cert);
  return files;
}

/** `GET /` answers `hello world`, anything else 404: the same for HTTPS and HTTP/2 requests. */
export function helloApp(
  request: IncomingMessage | Http2ServerRequest,
  response: ServerResponse | Http2ServerResponse,
): void {
  if (request.url !== HELLO_PATH) {
    response.statusCode = 404;
    response.end();
    return;
  }
  response.setHeader('content-type', 'text/plain');
  response.end(HELLO_BODY);
}

/**
 * SETTINGS_MAX_CONCURRENT_STREAMS of every HTTP/2 server here, and h2load's streams per connection:
 * sockshard's default (node:http2's is unbounded).
 */
export const MAX_STREAMS = 100;
