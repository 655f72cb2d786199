import { spawn } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { start } from '../../examples/resp-server.js';
import { requirement, testWith } from '../helpers/requirements.js';
import { readAll, useTeardown } from '../helpers/sockets.js';

const defer = useTeardown();
const withRedisBenchmark = testWith(await requirement('redis-benchmark'));

function encode(...args: string[]): string {
  return `*${args.length}\r\n${args.map((arg) => `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`).join('')}`;
}

/** Sends `request` in pieces of `chunk` bytes (a frame cut anywhere), half-closes, returns every reply byte. */
async function exchange(port: number, request: string, chunk = Number.POSITIVE_INFINITY): Promise<string> {
  const socket = net.connect(port, '127.0.0.1');
  await once(socket, 'connect');
  const bytes = Buffer.from(request);
  const replies = readAll(socket);
  for (let offset = 0; offset < bytes.length; offset += chunk) {
    socket.write(bytes.subarray(offset, offset + chunk));
    // Let each piece go out as its own segment, so that the server sees the frames cut.
    if (chunk !== Number.POSITIVE_INFINITY) await new Promise((resolve) => setImmediate(resolve));
  }
  socket.end();
  return (await replies).toString('latin1');
}

async function startServer(shards = 1) {
  const running = await start({ port: 0, engine: { shards } });
  defer(() => running.engine.close({ timeoutMs: 500 }));
  return running;
}

describe('examples/resp-server', () => {
  it('runs pipelined commands in order, with frames cut across chunks', async () => {
    const { port, engine } = await startServer();
    const request = [
      encode('PING'),
      encode('ECHO', 'hi there'),
      encode('SET', 'greeting', 'hello\r\nworld'),
      encode('GET', 'greeting'),
      encode('GET', 'missing'),
      encode('INCR', 'counter'),
      encode('INCR', 'counter'),
      encode('INCRBY', 'counter', '40'),
      encode('INCR', 'greeting'),
      encode('EXISTS', 'greeting', 'counter', 'missing'),
      encode('DEL', 'greeting', 'missing'),
      encode('DBSIZE'),
      'PING\r\n',
      encode('NOPE', 'x'),
      encode('GET'),
    ].join('');
    const expected = [
      '+PONG\r\n',
      '$8\r\nhi there\r\n',
      '+OK\r\n',
      '$12\r\nhello\r\nworld\r\n',
      '$-1\r\n',
      ':1\r\n',
      ':2\r\n',
      ':42\r\n',
      '-ERR value is not an integer or out of range\r\n',
      ':2\r\n',
      ':1\r\n',
      ':1\r\n',
      '+PONG\r\n',
      "-ERR unknown command 'NOPE', with args beginning with: 'x'\r\n",
      "-ERR wrong number of arguments for 'get' command\r\n",
    ].join('');
    expect(await exchange(port, request)).toBe(expected);
    // The same again on a fresh keyspace, 3 bytes at a time.
    expect(await exchange(port, encode('FLUSHALL') + request, 3)).toBe(`+OK\r\n${expected}`);
    expect(engine.stats().total.handlerErrors).toBe(0);
  });

  it('answers the CONFIG GET that redis-benchmark sends on connect', async () => {
    const { port } = await startServer();
    expect(
      await exchange(port, encode('CONFIG', 'GET', 'save') + encode('CONFIG', 'GET', 'appendonly')),
    ).toBe('*2\r\n$4\r\nsave\r\n$0\r\n\r\n*2\r\n$10\r\nappendonly\r\n$2\r\nno\r\n');
  });

  it('closes after QUIT, and after a protocol error with an error reply', async () => {
    const { port } = await startServer();
    expect(await exchange(port, encode('PING') + encode('QUIT') + encode('PING'))).toBe('+PONG\r\n+OK\r\n');
    expect(await exchange(port, `${encode('PING')}*1\r\n$x\r\n${encode('PING')}`)).toBe(
      '+PONG\r\n-ERR Protocol error: invalid length\r\n',
    );
  });

  withRedisBenchmark('serves redis-benchmark (ping, set, get; then pipelined -P 16)', async () => {
    const { port, engine } = await startServer(2);
    for (const pipeline of [[], ['-P', '16']]) {
      const args = [
        '-h',
        '127.0.0.1',
        '-p',
        String(port),
        '-t',
        'ping,set,get',
        '-n',
        '20000',
        '-c',
        '20',
        '-q',
      ];
      const { code, output } = await run('redis-benchmark', [...args, ...pipeline], 60_000);
      expect(code, output).toBe(0);
      const rates = new Map(
        [...output.matchAll(/^\s*([A-Z_]+): ([\d.]+) requests per second/gm)].map((match) => [
          match[1]!,
          Number(match[2]),
        ]),
      );
      expect([...rates.keys()].sort(), output).toEqual(['GET', 'PING_INLINE', 'PING_MBULK', 'SET']);
      for (const [test, rate] of rates) expect(rate, test).toBeGreaterThan(0);
      expect(output).not.toMatch(/WARNING|Error/);
    }
    const { total, shards } = engine.stats();
    expect(total.handlerErrors).toBe(0);
    expect(total.socketErrors).toBe(0);
    // 20 connections per test, spread over both shards.
    expect(shards.every((shard) => shard.adopted > 0)).toBe(true);
  });
});

/** Runs a command to completion (killed after `timeoutMs`), with stdout and stderr in one string. */
async function run(
  command: string,
  args: string[],
  timeoutMs: number,
): Promise<{ code: number | null; output: string }> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const [code] = (await once(child, 'close')) as [number | null];
  // Progress lines end in \r: keep the final line of each.
  return { code, output: output.replace(/[^\n]*\r(?!\n)/g, '') };
}
