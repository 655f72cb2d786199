import { describe, expect, it } from 'vitest';
import {
  createEngine,
  type EngineOptions,
  EngineStateError,
  InvalidOptionError,
  type TcpOptions,
} from '../../src/index.js';
import { fixtureHandler } from '../helpers/engine.js';
import { useTeardown } from '../helpers/sockets.js';

const defer = useTeardown();
const handler = fixtureHandler('echo.ts');

function optionOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidOptionError);
    return (error as InvalidOptionError).option;
  }
  return undefined;
}

describe('invalid options are named', () => {
  it.each([
    [{ shards: 0 }, 'shards'],
    [{ shards: 1.5 }, 'shards'],
    [{ controlRingBytes: 3000 }, 'controlRingBytes'],
    [{ restart: { spare: 'yes' } }, 'restart.spare'],
    [{ handleSignals: 1 }, 'handleSignals'],
  ])('createEngine(%j) → %s', (options, option) => {
    expect(optionOf(() => createEngine(options as unknown as EngineOptions))).toBe(option);
  });

  it.each([
    [{ port: -1, handler }, 'tcp.port'],
    [{ port: 70_000, handler }, 'tcp.port'],
    [{ port: 0, handler, host: 'localhost' }, 'tcp.host'],
    [{ port: 0, handler, balance: 'random' }, 'tcp.balance'],
    [{ port: 0, handler: 42 }, 'tcp.handler'],
    [{ port: 0, handler: new URL('https://example.invalid/h.js') }, 'tcp.handler'],
    [{ port: 0, handler, backlog: 0 }, 'tcp.backlog'],
  ])('engine.tcp(%j) → %s', (options, option) => {
    expect(optionOf(() => createEngine({ shards: 1 }).tcp(options as unknown as TcpOptions))).toBe(option);
  });

  it('names HTTP server settings', () => {
    expect(optionOf(() => createEngine({ shards: 1 }).http({ port: 0, handler, keepAliveTimeout: -5 }))).toBe(
      'http.keepAliveTimeout',
    );
  });

  it('refuses start() without listeners and listeners after start()', async () => {
    await expect(createEngine({ shards: 1 }).start()).rejects.toBeInstanceOf(InvalidOptionError);
    const engine = createEngine({ shards: 1 }).tcp({ port: 0, handler });
    await engine.start();
    defer(() => engine.close());
    expect(() => engine.tcp({ port: 0, handler })).toThrow(EngineStateError);
    await expect(engine.start()).rejects.toBeInstanceOf(EngineStateError);
    expect(() => engine.close({ timeoutMs: -1 })).toThrow(InvalidOptionError);
  });
});
