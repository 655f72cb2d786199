import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect } from 'vitest';
import { createEngine, type Engine } from '../../src/index.js';
import { fixtureHandler, portOf } from '../helpers/engine.js';
import { requirement, testWith } from '../helpers/requirements.js';
import { useTeardown } from '../helpers/sockets.js';
import { selfSignedCertificate } from '../helpers/tls.js';

const defer = useTeardown();
const certificate = await selfSignedCertificate('localhost');
const run = promisify(execFile);
const withOpenssl = testWith(await requirement('openssl'));

/**
 * Runs `openssl s_client` (stdin closed at once, and -ign_eof, so it reads until the server closes, TLS 1.3
 * tickets included) and returns the lines
 * where it says whether each handshake was new or resumed. s_client exits non-zero when the server closes
 * without close_notify; the lines are what counts.
 */
async function sClient(port: number, args: string[]): Promise<string[]> {
  const child = run('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-ign_eof', ...args], {
    timeout: 20_000,
  });
  child.child.stdin?.end();
  let stdout: string;
  try {
    ({ stdout } = await child);
  } catch (error) {
    stdout = (error as { stdout?: string }).stdout ?? '';
  }
  return stdout
    .split('\n')
    .filter((line) => /^(New|Reused), /.test(line))
    .map((line) => line.split(',')[0]!);
}

/** A 2-shard TLS engine that alternates shards for every new connection. */
async function twoShards(): Promise<{ engine: Engine; port: number }> {
  const engine = createEngine({ shards: 2 }).tls({
    port: 0,
    handler: fixtureHandler('tls-shard.ts'),
    balance: 'round-robin',
    ...certificate,
  });
  await engine.start();
  defer(() => engine.close({ timeoutMs: 500 }));
  return { engine, port: portOf(engine) };
}

function resumedPerShard(engine: Engine): number[] {
  return engine.stats().shards.map((shard) => shard.tlsResumed);
}

describe('session resumption across shards', () => {
  withOpenssl('openssl s_client -reconnect (TLS 1.2): every reconnect resumed, on both shards', async () => {
    const { engine, port } = await twoShards();
    // One full handshake, then five reconnects with its session; round-robin puts them on 1, 0, 1, 0, 1.
    expect(await sClient(port, ['-tls1_2', '-reconnect'])).toEqual(['New', ...Array(5).fill('Reused')]);
    expect(resumedPerShard(engine)).toEqual([2, 3]);
  });

  withOpenssl(
    'openssl s_client -sess_out / -sess_in (TLS 1.3): the ticket from one shard resumes on both',
    async () => {
      // s_client's -reconnect takes the TLS 1.3 session before the server's tickets arrive, so it never
      // resumes 1.3 against any server (node:tls alone included); a saved session does.
      const { engine, port } = await twoShards();
      const dir = mkdtempSync(join(tmpdir(), 'sockshard-sess-'));
      defer(() => rmSync(dir, { recursive: true, force: true }));
      const session = join(dir, 'session.pem');
      expect(await sClient(port, ['-tls1_3', '-sess_out', session])).toEqual(['New']);
      for (let i = 0; i < 4; i++)
        expect(await sClient(port, ['-tls1_3', '-sess_in', session])).toEqual(['Reused']);
      expect(resumedPerShard(engine)).toEqual([2, 2]);
    },
  );

  for (const version of ['-tls1_2', '-tls1_3']) {
    withOpenssl(
      `after a ticket-key rotation old tickets resume for one period, then not (${version})`,
      async () => {
        const { engine, port } = await twoShards();
        const dir = mkdtempSync(join(tmpdir(), 'sockshard-sess-'));
        defer(() => rmSync(dir, { recursive: true, force: true }));
        const session = join(dir, 'session.pem');
        expect(await sClient(port, [version, '-sess_out', session])).toEqual(['New']);
        engine.rotateTicketKeys();
        // Both shards: each picks the server holding the previous keys from the ticket's key name.
        expect(await sClient(port, [version, '-sess_in', session])).toEqual(['Reused']);
        expect(await sClient(port, [version, '-sess_in', session])).toEqual(['Reused']);
        engine.rotateTicketKeys();
        expect(await sClient(port, [version, '-sess_in', session])).toEqual(['New']);
        expect(await sClient(port, [version, '-sess_in', session])).toEqual(['New']);
        const { total } = engine.stats();
        expect(total).toMatchObject({ tlsHandshakes: 5, tlsResumed: 2, tlsErrors: 0 });
      },
    );
  }

  withOpenssl('rotates the keys on its own schedule', async () => {
    const engine = createEngine({ shards: 2, sessionTickets: { rotationMs: 1_000 } }).tls({
      port: 0,
      handler: fixtureHandler('tls-shard.ts'),
      balance: 'round-robin',
      ...certificate,
    });
    await engine.start();
    defer(() => engine.close({ timeoutMs: 500 }));
    const port = portOf(engine);
    const dir = mkdtempSync(join(tmpdir(), 'sockshard-sess-'));
    defer(() => rmSync(dir, { recursive: true, force: true }));
    const session = join(dir, 'session.pem');
    expect(await sClient(port, ['-tls1_2', '-sess_out', session])).toEqual(['New']);
    // Two periods later the keys that made the ticket are gone: a full handshake.
    await expect
      .poll(async () => (await sClient(port, ['-tls1_2', '-sess_in', session]))[0], {
        timeout: 10_000,
        interval: 500,
      })
      .toBe('New');
  });
});
