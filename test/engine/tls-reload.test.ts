import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createEngine, type Engine, EngineStateError } from '../../src/index.js';
import { fixtureHandler, portOf } from '../helpers/engine.js';
import { useTeardown } from '../helpers/sockets.js';
import { selfSignedCertificate } from '../helpers/tls.js';

const defer = useTeardown();
const before = await selfSignedCertificate('before.test');
const after = await selfSignedCertificate('after.test');

/** One TLS connection to the tls-shard fixture: the certificate's CN, or the error that ended it. */
function subjectOf(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false });
    let subject = '';
    socket.on('secureConnect', () => {
      subject = String(socket.getPeerCertificate().subject.CN);
    });
    socket.resume();
    socket.on('error', reject);
    socket.on('end', () => resolve(subject));
  });
}

async function started(engine: Engine): Promise<number> {
  await engine.start();
  defer(() => engine.close({ timeoutMs: 500 }));
  return portOf(engine);
}

describe('certificate reload without a restart', () => {
  it('under load: no handshake fails, and every connection after the reload gets the new certificate', async () => {
    const engine = createEngine({ shards: 2 }).tls({
      port: 0,
      handler: fixtureHandler('tls-shard.ts'),
      ...before,
    });
    const port = await started(engine);
    // A connection made before the reload, held open across it.
    const held = tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false });
    held.on('error', () => {});
    defer(() => held.destroy());
    await new Promise((resolve) => held.once('secureConnect', resolve));
    const heldSubject = String(held.getPeerCertificate().subject.CN);
    let reloaded = false;
    let stop = false;
    const seen: { subject: string; afterReload: boolean }[] = [];
    const failures: unknown[] = [];
    // Four clients, each opening a new connection as soon as the last one ended.
    const load = Array.from({ length: 4 }, async () => {
      while (!stop) {
        const startedAfter = reloaded;
        try {
          seen.push({ subject: await subjectOf(port), afterReload: startedAfter });
        } catch (error) {
          failures.push(error);
        }
      }
    });
    await expect.poll(() => seen.length).toBeGreaterThan(20);
    await engine.setSecureContext(0, after);
    reloaded = true;
    const atReload = seen.length;
    await expect.poll(() => seen.length).toBeGreaterThan(atReload + 20);
    stop = true;
    await Promise.all(load);
    expect(failures).toEqual([]);
    expect(engine.stats().total.tlsErrors).toBe(0);
    expect(seen.filter((s) => !s.afterReload).some((s) => s.subject === 'before.test')).toBe(true);
    expect(seen.filter((s) => s.afterReload).map((s) => s.subject)).toEqual(
      seen.filter((s) => s.afterReload).map(() => 'after.test'),
    );
    expect(heldSubject).toBe('before.test');
    expect(String(held.getPeerCertificate().subject.CN)).toBe('before.test');
  });

  it('refuses credentials that cannot work, naming the option, and keeps serving the old ones', async () => {
    const engine = createEngine({ shards: 2 }).tls({
      port: 0,
      handler: fixtureHandler('tls-shard.ts'),
      ...before,
    });
    const port = await started(engine);
    await expect(engine.setSecureContext(0, { key: before.key, cert: after.cert })).rejects.toMatchObject({
      code: 'ERR_TLS_CREDENTIALS',
      option: 'tls.cert',
    });
    expect(await subjectOf(port)).toBe('before.test');
  });

  it('SIGHUP (handleSignals) reads the certificate files again, then runs a rolling reload; a bad file stops both', async () => {
    const base = join(tmpdir(), `sockshard-reload-${process.pid}`);
    const key = `${base}-key.pem`;
    const cert = `${base}-cert.pem`;
    writeFileSync(key, before.key);
    writeFileSync(cert, before.cert);
    // In a child process: the signal goes to the engine's process, not to the test runner's. Node loads
    // tsx itself (tsx's CLI would be the parent, and it passes SIGHUP on to no one).
    const script = fileURLToPath(new URL('../fixtures/engine-reload.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', script, key, cert], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    defer(() => {
      child.kill('SIGTERM');
      return exited;
    });
    const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
    const next = async () => String((await lines.next()).value);
    const port = Number(await next());
    expect(await subjectOf(port)).toBe('before.test');
    // A key that does not match the certificate: refused, nothing reloaded (the next line says so).
    writeFileSync(key, after.key);
    child.kill('SIGHUP');
    expect(await next()).toBe('error ERR_TLS_CREDENTIALS');
    expect(await subjectOf(port)).toBe('before.test');
    writeFileSync(cert, after.cert);
    child.kill('SIGHUP');
    // The first reload that ran is generation 1: the refused SIGHUP reloaded nothing.
    expect(await next()).toBe('reloaded 1');
    expect(await subjectOf(port)).toBe('after.test');
  });

  it('refuses setSecureContext() during a rolling reload (the new shards start from the settings it began with)', async () => {
    const engine = createEngine({ shards: 2 }).tls({
      port: 0,
      handler: fixtureHandler('tls-shard.ts'),
      ...before,
    });
    const port = await started(engine);
    const reloading = engine.reload();
    expect(() => engine.setSecureContext(0, after)).toThrow(EngineStateError);
    await reloading;
    await engine.setSecureContext(0, after);
    expect(await subjectOf(port)).toBe('after.test');
  });
});
