import { once } from 'node:events';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { buildQuery } from '../../examples/udp-dns/dns-message.js';
import { useTeardown } from '../helpers/sockets.js';
import { UdpClient } from '../helpers/udp.js';
import { CliProcess, httpGet, runCli } from './cli-process.js';

const defer = useTeardown();

function serve(args: readonly string[], script?: readonly string[]): CliProcess {
  const cli = script === undefined ? new CliProcess(['serve', ...args]) : new CliProcess(args, { script });
  defer(async () => {
    if (cli.child.exitCode === null && cli.child.signalCode === null) cli.child.kill('SIGKILL');
    await cli.exited;
  });
  return cli;
}

/** A handler module of the user's (plain JavaScript), by absolute path as a user would name it. */
function fixture(name: string): string {
  return fileURLToPath(new URL(`../fixtures/cli/${name}`, import.meta.url));
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
    expect(await httpGet(Number(port))).toBe('hello from shard 0\n');
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

describe("sockshard serve <module>: the user's own handler module, its kind found from its hooks", () => {
  it('a bare function is an HTTP request listener: served on every shard, closed by SIGTERM', async () => {
    const cli = serve([fixture('hello-http.mjs'), '--port', '0', '--shards', '2']);
    const [, port] = await cli.line(
      /hello-http\.mjs listening on http:\/\/127\.0\.0\.1:(\d+)\/ with 2 shards/,
    );
    expect(await httpGet(Number(port))).toMatch(/^hello from shard [01] of 2\n$/);
    expect(cli.stdout).toContain(`try: curl http://127.0.0.1:${port}/`);
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toEqual({ code: 0, signal: null });
    expect(cli.stderr).toBe('');
  });

  it("defineFastHttpHandler()'s mark is the fast HTTP path (engine.http({ api: 'fast' }))", async () => {
    const cli = serve([fixture('hello-fast.mjs'), '--port', '0', '--shards', '1']);
    const [, port] = await cli.line(
      /hello-fast\.mjs listening on http:\/\/127\.0\.0\.1:(\d+)\/ with 1 shard/,
    );
    expect(await httpGet(Number(port))).toBe('fast / from shard 0\n');
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toEqual({ code: 0, signal: null });
  });

  it('connection() is TCP', async () => {
    const cli = serve([fixture('echo-tcp.mjs'), '--port', '0', '--shards', '1']);
    const [, port] = await cli.line(/listening on tcp:\/\/127\.0\.0\.1:(\d+) with 1 shard\n/);
    expect(await echo(Number(port), 'from a module')).toBe('from a module');
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toEqual({ code: 0, signal: null });
  });

  it('message() is UDP, the port bound by every shard', async () => {
    const cli = serve([fixture('echo-udp.mjs'), '--port', '0', '--shards', '2']);
    const [, port] = await cli.line(/listening on udp:\/\/127\.0\.0\.1:(\d+) with 2 shards\n/);
    const client = await UdpClient.open();
    defer(() => client.close());
    client.send('datagram', Number(port));
    const [reply] = await client.receive(1);
    expect(reply!.toString()).toBe('datagram');
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toEqual({ code: 0, signal: null });
  });

  it('hooks of two kinds need --kind, which then chooses', async () => {
    const ambiguous = await runCli(['serve', fixture('http-and-tcp.mjs'), '--port', '0']);
    expect(ambiguous.code).toBe(1);
    expect(ambiguous.stderr).toContain(
      'it has request() or a bare function (http) and connection() (tcp): choose one with --kind http|tcp',
    );
    const cli = serve([fixture('http-and-tcp.mjs'), '--kind', 'tcp', '--port', '0', '--shards', '1']);
    const [, port] = await cli.line(/listening on tcp:\/\/127\.0\.0\.1:(\d+)/);
    const socket = net.connect(Number(port), '127.0.0.1');
    socket.setEncoding('utf8');
    const [data] = (await once(socket, 'data')) as [string];
    expect(data).toBe('tcp\n');
    await once(socket, 'close');
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toEqual({ code: 0, signal: null });
  });

  it.each([
    [['no-hooks.mjs'], 'no-hooks.mjs: its default export has none of the handler hooks'],
    [
      ['hello-http.mjs', '--kind', 'udp'],
      'serving it as udp needs message(), which its default export lacks',
    ],
    [['hello-http.mjs', '--kind', 'tls'], "option '-k, --kind <kind>' argument 'tls' is invalid"],
    [['missing.mjs'], 'missing.mjs: no such file'],
  ])('%j exits 1: %s', async ([file, ...flags], message) => {
    const { code, stderr } = await runCli(['serve', fixture(file!), ...flags, '--port', '0']);
    expect(code).toBe(1);
    expect(stderr).toContain(message);
  });

  it('--kind is refused for an example, which knows its own', async () => {
    const { code, stderr } = await runCli(['serve', 'tcp-echo', '--kind', 'tcp']);
    expect(code).toBe(1);
    expect(stderr).toContain('--kind is for handler modules');
  });
});
