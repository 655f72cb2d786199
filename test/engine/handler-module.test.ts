import { describe, expect, it } from 'vitest';
import { createEngine, HandlerLoadError, SockshardError } from '../../src/index.js';
import { fixtureHandler } from '../helpers/engine.js';
import { useTeardown } from '../helpers/sockets.js';

useTeardown();

async function startError(kind: 'tcp' | 'http', handler: URL | string): Promise<unknown> {
  const engine = createEngine({ shards: 2 })[kind]({ port: 0, handler });
  const exits: number[] = [];
  engine.on('shard-exit', (shardId) => exits.push(shardId));
  const error = await engine.start().then(
    () => undefined,
    (caught: unknown) => caught,
  );
  // start() failed whole: no shard was left running.
  expect(exits.sort()).toEqual([0, 1]);
  return error;
}

describe('handler modules that cannot serve', () => {
  it('names a missing module', async () => {
    const missing = fixtureHandler('does-not-exist.ts');
    const error = await startError('tcp', missing);
    expect(error).toBeInstanceOf(HandlerLoadError);
    expect(error).toBeInstanceOf(SockshardError);
    expect(error).toMatchObject({ code: 'ERR_HANDLER_LOAD', module: missing.href });
    expect((error as Error).message).toContain('does-not-exist.ts');
  });

  it('reports a module that throws while loading', async () => {
    const error = await startError('http', fixtureHandler('throws-on-import.ts'));
    expect(error).toMatchObject({ code: 'ERR_HANDLER_LOAD' });
    expect((error as Error).message).toContain('fails while it loads');
  });

  it('says how to export a handler when the default export is missing', async () => {
    const error = await startError('tcp', fixtureHandler('no-default.ts'));
    expect(error).toMatchObject({ code: 'ERR_HANDLER_LOAD' });
    expect((error as Error).message).toContain('defineTcpHandler');
  });

  it('rejects an HTTP handler used for TCP', async () => {
    const error = await startError('tcp', fixtureHandler('hello-http.ts'));
    expect((error as Error).message).toMatch(/connection/);
  });
});
