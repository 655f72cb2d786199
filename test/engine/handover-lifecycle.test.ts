import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createEngine, type Engine, type SockshardError } from '../../src/index.js';
import { close, unixListen } from '../../src/native/binding.js';
import { fixtureHandler, portOf } from '../helpers/engine.js';
import { useTeardown } from '../helpers/sockets.js';

const defer = useTeardown();

function handoverPath(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sockshard-handover-'));
  defer(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'handover.sock');
}

/** An engine of one shard serving HTTP with `handler` and a UDP port, handing over at `path`. */
function engineAt(path: string, handler = 'hello-http.ts'): { engine: Engine; errors: SockshardError[] } {
  const engine = createEngine({ shards: 1, restart: { spare: false }, handover: { path } })
    .http({ port: 0, handler: fixtureHandler(handler) })
    .udp({ ports: [0], handler: fixtureHandler('udp-echo.ts') });
  const errors: SockshardError[] = [];
  engine.on('error', (error) => errors.push(error));
  defer(() => engine.close({ timeoutMs: 200 }));
  return { engine, errors };
}

describe('process hand-over, lifecycle (predecessor and successor in one process)', () => {
  it('hands over, and the successor serves the path for the next one', async () => {
    const path = handoverPath();
    const first = engineAt(path);
    await first.engine.start();
    const port = portOf(first.engine);
    const udpPort = first.engine.udpPorts()[0]!.port;
    const second = engineAt(path);
    const handedOver = new Promise((resolve) => first.engine.once('handed-over', resolve));
    const firstClosed = new Promise<void>((resolve) => first.engine.once('close', () => resolve()));
    await second.engine.start();
    expect(await handedOver).toBe(process.pid);
    await firstClosed;
    expect(second.engine.addresses()[0]).toMatchObject({ port, socket: 'handover' });
    expect(second.engine.udpPorts()[0]).toMatchObject({ port: udpPort, socket: 'handover' });
    expect((await fetch(`http://127.0.0.1:${port}/`)).status).toBe(200);
    // The path now leads to the successor: a third generation takes over from it.
    const third = engineAt(path);
    await third.engine.start();
    expect(third.engine.addresses()[0]).toMatchObject({ port, socket: 'handover' });
    expect([first.errors, second.errors, third.errors]).toEqual([[], [], []]);
  });

  it('serves on when the successor fails to start: health ready again, the failure reported', async () => {
    const path = handoverPath();
    const first = engineAt(path);
    await first.engine.start();
    const port = portOf(first.engine);
    const second = engineAt(path, 'throws-on-import.ts');
    await expect(second.engine.start()).rejects.toMatchObject({ code: 'ERR_HANDLER_LOAD' });
    await expect.poll(() => first.errors.map((error) => error.code)).toEqual(['ERR_HANDOVER']);
    expect(first.errors[0]!.message).toContain('went away before it served');
    expect(first.engine.health()).toMatchObject({ status: 'ready' });
    expect((await fetch(`http://127.0.0.1:${port}/`)).status).toBe(200);
    // And a later successor still can take over.
    const third = engineAt(path);
    await third.engine.start();
    expect(third.engine.addresses()[0]).toMatchObject({ port, socket: 'handover' });
  });

  it('binds as usual where nothing serves the path, and replaces a stale socket file', async () => {
    const path = handoverPath();
    close(unixListen(path)); // a crashed predecessor's file: nobody listens on it
    const { engine, errors } = engineAt(path);
    await engine.start();
    expect(engine.addresses()[0]!.socket).toBe('bound');
    const next = engineAt(path);
    await next.engine.start();
    expect(next.engine.addresses()[0]!.socket).toBe('handover');
    await next.engine.close();
    // Closed with no successor: the path is removed.
    expect(existsSync(path)).toBe(false);
    expect(errors).toEqual([]);
  });

  it('reports the sockets of the predecessor that no listener here fits, and closes them', async () => {
    const path = handoverPath();
    const first = engineAt(path);
    await first.engine.start();
    const second = createEngine({ shards: 1, restart: { spare: false }, handover: { path } }).http({
      port: 0,
      handler: fixtureHandler('hello-http.ts'),
    });
    const errors: SockshardError[] = [];
    second.on('error', (error) => errors.push(error));
    defer(() => second.close({ timeoutMs: 200 }));
    await second.start();
    expect(errors.map((error) => error.code)).toEqual(['ERR_HANDOVER']);
    expect(errors[0]!.message).toContain(
      '1 sockets of the predecessor fit no listener here and were closed: udp:1:0:0',
    );
  });

  it('refuses a hand-over path that cannot be a Unix socket', () => {
    expect(() => createEngine({ handover: { path: `/tmp/${'x'.repeat(120)}` } })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_OPTION', option: 'handover.path' }),
    );
  });
});
