import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../../src/index.js';
import { fixtureHandler, portOf } from '../helpers/engine.js';
import { useTeardown } from '../helpers/sockets.js';
import { encryptedKey, selfSignedCertificate } from '../helpers/tls.js';

const defer = useTeardown();
const main = await selfSignedCertificate('localhost');
const api = await selfSignedCertificate('api.example.test');
const wildcard = await selfSignedCertificate('*.apps.example.test');
const other = await selfSignedCertificate('other');

interface Answer {
  readonly shard: number;
  readonly alpn: string | false;
  readonly servername: string | false;
  readonly resumed: boolean;
  readonly protocol: string;
  readonly subject: string;
}

async function started(engine: Engine): Promise<number> {
  await engine.start();
  defer(() => engine.close({ timeoutMs: 500 }));
  return portOf(engine);
}

/** One TLS connection to the tls-shard fixture: what the handler said, and the certificate's subject. */
function ask(port: number, options: tls.ConnectionOptions = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false, ...options });
    let text = '';
    let subject = '';
    socket.on('secureConnect', () => {
      subject = String(socket.getPeerCertificate().subject.CN);
    });
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      text += chunk;
    });
    socket.on('error', reject);
    socket.on('end', () => resolve({ ...(JSON.parse(text) as Answer), subject }));
  });
}

describe('https drain', () => {
  it('lets a request in flight on a TLS connection finish when the engine closes', async () => {
    const engine = createEngine({ shards: 1 }).https({
      port: 0,
      handler: fixtureHandler('slow-http.ts'),
      ...main,
    });
    const port = await started(engine);
    // The handler sends its headers at once and the body 400 ms later: far past the drain's 100 ms of quiet,
    // which must be judged on the TLS socket node:http serves (its response in flight), not the raw one.
    const response = await new Promise<IncomingMessage>((resolve, reject) => {
      https
        .get({ host: '127.0.0.1', port, path: '/?ms=400', rejectUnauthorized: false }, resolve)
        .on('error', reject);
    });
    const closing = engine.close({ timeoutMs: 5_000 });
    let body = '';
    response.setEncoding('utf8');
    for await (const chunk of response) body += chunk;
    expect(body).toBe('done\n');
    await closing;
  });
});

describe('engine.tls()', () => {
  for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
    it(`completes a ${version} handshake in the shard that owns the connection`, async () => {
      const engine = createEngine({ shards: 2 }).tls({
        port: 0,
        handler: fixtureHandler('tls-shard.ts'),
        balance: 'round-robin',
        ...main,
      });
      const port = await started(engine);
      const answers = [await ask(port, { maxVersion: version }), await ask(port, { maxVersion: version })];
      expect(answers.map((a) => a.protocol)).toEqual([version, version]);
      expect(answers.map((a) => a.shard).sort()).toEqual([0, 1]);
      expect(answers[0]!.subject).toBe('localhost');
      const { total } = engine.stats();
      expect(total.tlsHandshakes).toBe(2);
      expect(total.tlsErrors).toBe(0);
    });
  }

  it('picks the certificate by SNI: exact names, one-level wildcards, the default for the rest', async () => {
    const engine = createEngine({ shards: 2 }).tls({
      port: 0,
      handler: fixtureHandler('tls-shard.ts'),
      ...main,
      sni: { 'api.example.test': api, '*.apps.example.test': wildcard },
    });
    const port = await started(engine);
    const subjects = [];
    for (const servername of ['api.example.test', 'one.apps.example.test', 'other.example.test', undefined]) {
      const answer = await ask(port, servername === undefined ? {} : { servername });
      subjects.push([servername, answer.subject, answer.servername]);
    }
    expect(subjects).toEqual([
      ['api.example.test', 'api.example.test', 'api.example.test'],
      ['one.apps.example.test', '*.apps.example.test', 'one.apps.example.test'],
      ['other.example.test', 'localhost', 'other.example.test'],
      [undefined, 'localhost', false],
    ]);
  });

  it('negotiates ALPN: h2 or http/1.1 as the client prefers among those offered', async () => {
    const engine = createEngine({ shards: 1 }).tls({
      port: 0,
      handler: fixtureHandler('tls-shard.ts'),
      ...main,
      alpnProtocols: ['h2', 'http/1.1'],
    });
    const port = await started(engine);
    expect((await ask(port, { ALPNProtocols: ['h2', 'http/1.1'] })).alpn).toBe('h2');
    expect((await ask(port, { ALPNProtocols: ['http/1.1'] })).alpn).toBe('http/1.1');
    expect((await ask(port)).alpn).toBe(false);
  });

  it('reads the key and certificate from paths and file URLs, with a passphrase', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sockshard-tls-'));
    defer(() => rmSync(dir, { recursive: true, force: true }));
    const keyPath = join(dir, 'key.pem');
    const certPath = join(dir, 'cert.pem');
    writeFileSync(keyPath, encryptedKey(main.key, 'open sesame'));
    writeFileSync(certPath, main.cert);
    const engine = createEngine({ shards: 1 }).tls({
      port: 0,
      handler: fixtureHandler('tls-shard.ts'),
      key: keyPath,
      cert: pathToFileURL(certPath),
      passphrase: 'open sesame',
    });
    const port = await started(engine);
    expect((await ask(port)).subject).toBe('localhost');
  });

  it('serves https in every shard', async () => {
    const engine = createEngine({ shards: 2 }).https({
      port: 0,
      handler: fixtureHandler('whoami-http.ts'),
      balance: 'round-robin',
      ...main,
    });
    const port = await started(engine);
    const shards = new Set<number>();
    for (let i = 0; i < 4; i++) {
      const body = await new Promise<string>((resolve, reject) => {
        https
          .get(
            { port, host: '127.0.0.1', path: `/r${i}`, rejectUnauthorized: false, agent: false },
            (res) => {
              let text = '';
              res.setEncoding('utf8');
              res.on('data', (chunk: string) => {
                text += chunk;
              });
              res.on('end', () => resolve(text));
            },
          )
          .on('error', reject);
      });
      const answer = JSON.parse(body) as { shard: number; path: string; httpVersion: string };
      expect(answer).toMatchObject({ path: `/r${i}`, httpVersion: '1.1' });
      shards.add(answer.shard);
    }
    expect([...shards].sort()).toEqual([0, 1]);
    expect(engine.stats().total).toMatchObject({ requests: 4, tlsHandshakes: 4 });
  });
});

describe('TLS credentials that cannot work fail the listener before start(), naming the option', () => {
  const cases: [string, Record<string, unknown>, string, string][] = [
    // A string that is not PEM text is a path.
    ['a key that is no PEM', { key: 'not a key at all', cert: main.cert }, 'tls.key', 'ERR_TLS_CREDENTIALS'],
    [
      'garbage PEM',
      { key: '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n', cert: main.cert },
      'tls.key',
      'ERR_TLS_CREDENTIALS',
    ],
    [
      'a missing key file',
      { key: '/nonexistent/key.pem', cert: main.cert },
      'tls.key',
      'ERR_TLS_CREDENTIALS',
    ],
    [
      'a certificate that is no PEM',
      { key: main.key, cert: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n' },
      'tls.cert',
      'ERR_TLS_CREDENTIALS',
    ],
    ['a certificate of another key', { key: main.key, cert: other.cert }, 'tls.cert', 'ERR_TLS_CREDENTIALS'],
    [
      'an encrypted key with no passphrase',
      { key: encryptedKey(main.key, 'pw'), cert: main.cert },
      'tls.key',
      'ERR_TLS_CREDENTIALS',
    ],
    [
      'the wrong passphrase',
      { key: encryptedKey(main.key, 'pw'), cert: main.cert, passphrase: 'nope' },
      'tls.key',
      'ERR_TLS_CREDENTIALS',
    ],
    [
      'a bad SNI certificate',
      { ...main, sni: { 'a.test': { key: main.key, cert: other.cert } } },
      'tls.sni["a.test"].cert',
      'ERR_TLS_CREDENTIALS',
    ],
    [
      'a bad SNI name',
      { ...main, sni: { 'no spaces please': main } },
      'tls.sni["no spaces please"]',
      'ERR_INVALID_OPTION',
    ],
    ['an unknown cipher', { ...main, ciphers: 'NOT-A-CIPHER' }, 'tls.ciphers', 'ERR_INVALID_OPTION'],
    ['no key', { cert: main.cert }, 'tls.key', 'ERR_INVALID_OPTION'],
  ];
  for (const [name, options, option, code] of cases) {
    it(name, () => {
      // Checked when the listener is added (files too): nothing has started, nothing is left open.
      const engine = createEngine({ shards: 1 });
      expect(() =>
        engine.tls({
          port: 0,
          handler: fixtureHandler('tls-shard.ts'),
          ...(options as { key: string; cert: string }),
        }),
      ).toThrow(expect.objectContaining({ code, option }));
    });
  }
});
