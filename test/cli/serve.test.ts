import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { buildQuery } from '../../examples/udp-dns/dns-message.js';
import { useTeardown } from '../helpers/sockets.js';
import { UdpClient } from '../helpers/udp.js';
import { CliProcess } from './cli-process.js';

const defer = useTeardown();

function serve(args: readonly string[], script?: readonly string[]): CliProcess {
  const cli = script === undefined ? new CliProcess(['serve', ...args]) : new CliProcess(args, { script });
  defer(async () => {
    if (cli.child.exitCode === null && cli.child.signalCode === null) cli.child.kill('SIGKILL');
    await cli.exited;
  });
  return cli;
}

async function echo(port: number, text: string): Promise<string> {
  const socket = net.connect(port, '127.0.0.1');
  socket.setEncoding('utf8');
  socket.write(text);
  const [data] = (await once(socket, 'data')) as [string];
  socket.end();
  await once(socket, 'close');
  return data;
}

describe('sockshard serve', () => {
  it('serve tcp-echo --port 0: prints its address, echoes, and closes gracefully on SIGTERM (exit 0)', async () => {
    const cli = serve(['tcp-echo', '--port', '0', '--shards', '2']);
    const [, port] = await cli.line(/tcp-echo listening on tcp:\/\/127\.0\.0\.1:(\d+) with 2 shards/);
    expect(await echo(Number(port), 'hello, sockshard')).toBe('hello, sockshard');
    // A connection left open: the graceful close ends it (the handler's drain hook) instead of hanging.
    const open = net.connect(Number(port), '127.0.0.1');
    defer(() => open.destroy());
    await once(open, 'connect');
    const ended = once(open, 'end');
    cli.child.kill('SIGTERM');
    await ended;
    const { code, signal } = await cli.exited;
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(cli.stdout).toContain('SIGTERM: closing gracefully');
    expect(cli.stdout).toMatch(/tcp-echo closed\n$/);
    expect(cli.stderr).toBe('');
  });

  it('serve http-hello --stats 1: prints stats lines, and closes on SIGINT (exit 0)', async () => {
    const cli = serve(['http-hello', '--port', '0', '--shards', '1', '--stats', '1']);
    const [, port] = await cli.line(/listening on http:\/\/127\.0\.0\.1:(\d+)\//);
    const body = await new Promise<string>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port: Number(port), path: '/', agent: false }, (response) => {
          response.setEncoding('utf8');
          let text = '';
          response.on('data', (chunk: string) => {
            text += chunk;
          });
          response.on('end', () => resolve(text));
        })
        .on('error', reject);
    });
    expect(body).toBe('hello from shard 0\n');
    await cli.line(/stats: open \d+ \(per shard \d+\), served 1, requests 1, handler errors 0/, 5_000);
    cli.child.kill('SIGINT');
    expect(await cli.exited).toEqual({ code: 0, signal: null });
  });

  it('an example run as a script (node --import tsx examples/udp-dns.ts) serves the same way', async () => {
    const script = ['--import', 'tsx', fileURLToPath(new URL('../../examples/udp-dns.ts', import.meta.url))];
    const cli = serve(['--port', '0', '--shards', '1'], script);
    const [, port] = await cli.line(/udp-dns listening on udp:\/\/127\.0\.0\.1:(\d+) with 1 shard\n/);
    const client = await UdpClient.open();
    defer(() => client.close());
    client.send(buildQuery(0x0101, 'script.example.test'), Number(port));
    const [reply] = await client.receive(1);
    expect([...reply!.subarray(-4)]).toEqual([127, 0, 0, 1]);
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toEqual({ code: 0, signal: null });
    expect(cli.stdout).toContain('udp-dns closed');
  });
});
