import { once } from 'node:events';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { createEngine, SockshardError, SyscallError } from '../../src/index.js';
import { fixtureHandler } from '../helpers/engine.js';
import { useTeardown } from '../helpers/sockets.js';

const defer = useTeardown();

describe('a port already in use', () => {
  it.each(['least-connections', 'kernel'] as const)(
    'fails start() with EADDRINUSE naming the port (%s)',
    async (balance) => {
      const blocker = net.createServer().listen(0, '127.0.0.1');
      await once(blocker, 'listening');
      defer(() => new Promise((resolve) => blocker.close(resolve)));
      const port = (blocker.address() as net.AddressInfo).port;
      const engine = createEngine({ shards: 2 }).tcp({ port, handler: fixtureHandler('echo.ts'), balance });
      const exits: number[] = [];
      engine.on('shard-exit', (shardId) => exits.push(shardId));
      const error = await engine.start().then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(error).toBeInstanceOf(SockshardError);
      expect(error).toMatchObject({ code: 'EADDRINUSE', syscall: 'bind' });
      expect(String((error as Error).message)).toContain(String(port));
      if (balance !== 'kernel') expect(error).toBeInstanceOf(SyscallError);
      // Nothing is left running: every shard has ended (the fd check runs in teardown).
      expect(exits.sort()).toEqual([0, 1]);
      expect(engine.stats().shards.every((shard) => !shard.alive)).toBe(true);
    },
  );
});
