import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runCli } from './cli-process.js';

describe('sockshard usage errors', () => {
  it('an unknown command exits non-zero and says so', async () => {
    const { code, stdout, stderr } = await runCli(['frobnicate']);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toContain("error: unknown command 'frobnicate'");
    expect(stderr).toContain('sockshard --help');
  });

  it('a typo gets a suggestion', async () => {
    const { code, stderr } = await runCli(['serv', 'tcp-echo']);
    expect(code).toBe(1);
    expect(stderr).toContain('(Did you mean serve?)');
  });

  it('no command prints the help to stderr and exits non-zero', async () => {
    const { code, stderr } = await runCli([]);
    expect(code).toBe(1);
    expect(stderr).toContain('Usage: sockshard');
  });

  it('an unknown example names the choices, and how to name a module instead', async () => {
    const { code, stderr } = await runCli(['serve', 'no-such-example']);
    expect(code).toBe(1);
    expect(stderr).toContain(
      "'no-such-example' is no example (tcp-echo, http-hello, http-fast, udp-dns, icmp-monitor, resp-server); a handler module is named by its path, like ./no-such-example.mjs",
    );
  });

  it.each([
    [['serve', 'tcp-echo', '--port', '70000'], "option '-p, --port <port>' argument '70000' is invalid"],
    [['serve', 'tcp-echo', '--shards', 'two'], "option '-s, --shards <n>' argument 'two' is invalid"],
    [['serve', 'tcp-echo', '--host', 'localhost'], 'must be an IPv4 or IPv6 address'],
    [['serve', 'tcp-echo', '--colour'], "error: unknown option '--colour'"],
    [['bench', 'nosuch'], "unknown benchmark 'nosuch'; choose one of: ring, http, udp"],
    [['serve', 'tcp-echo', '--', '--quick'], 'arguments after -- are only for `sockshard bench`'],
  ])('%j exits 1: %s', async (args, message) => {
    const { code, stderr } = await runCli(args);
    expect(code).toBe(1);
    expect(stderr).toContain(message);
  });

  it('bench with a handler of another kind than node:http says what it measures', async () => {
    const fast = fileURLToPath(new URL('../fixtures/cli/hello-fast.mjs', import.meta.url));
    const { code, stderr } = await runCli(['bench', fast, '--quick']);
    expect(code).toBe(1);
    expect(stderr).toContain(
      'hello-fast.mjs is a fast-http handler: sockshard bench measures node:http handlers',
    );
  });

  it('a port in use: serve exits 1 naming the error', async () => {
    const net = await import('node:net');
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = blocker.address() as import('node:net').AddressInfo;
      const { code, stderr } = await runCli(['serve', 'tcp-echo', '--port', String(port), '--shards', '1']);
      expect(code).toBe(1);
      expect(stderr).toContain('tcp-echo did not start: EADDRINUSE');
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });
});
