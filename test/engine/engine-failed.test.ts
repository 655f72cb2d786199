import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { once } from 'node:events';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createEngine, type EngineFailedError } from '../../src/index.js';
import { fixtureHandler, portOf, until } from '../helpers/engine.js';
import { kill, oneOnEach } from '../helpers/sessions.js';
import { useTeardown } from '../helpers/sockets.js';
import { UdpClient } from '../helpers/udp.js';

const defer = useTeardown();

/** Resolves once something can listen on `port` again (rejects with EADDRINUSE if not). */
async function listenable(port: number, type: 'tcp' | 'udp'): Promise<void> {
  if (type === 'udp') {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(port, '127.0.0.1', resolve);
    });
    await new Promise<void>((resolve) => socket.close(resolve));
    return;
  }
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  await new Promise((resolve) => server.close(resolve));
}

/** Runs test/fixtures/engine-fails.ts; resolves with its exit code and what it printed. */
async function failingChild(
  handled: boolean,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const tsx = fileURLToPath(new URL('../../node_modules/tsx/dist/cli.mjs', import.meta.url));
  const script = fileURLToPath(new URL('../fixtures/engine-fails.ts', import.meta.url));
  const child = spawn(process.execPath, [tsx, script, ...(handled ? ['handled'] : [])], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  defer(() => child.kill('SIGKILL'));
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (data) => (stdout += data));
  child.stderr.on('data', (data) => (stderr += data));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout, stderr };
}

describe('when every shard is given up', () => {
  it("releases every port, emits 'failed' then 'close', and serves on with one shard until then", async () => {
    const engine = createEngine({ shards: 2, restart: { maxRestarts: 0 }, metrics: { port: 0 } })
      .tcp({ port: 0, handler: fixtureHandler('mortal-tcp.ts'), balance: 'round-robin' })
      .udp({ ports: [0], handler: fixtureHandler('udp-echo.ts'), shardFor: () => 0 });
    const events: string[] = [];
    let failure: EngineFailedError | undefined;
    engine.on('error', (error) => events.push(error.code));
    engine.on('failed', (error) => {
      failure = error;
      events.push('failed');
    });
    engine.on('close', () => events.push('close'));
    await engine.start();
    defer(() => engine.close({ timeoutMs: 200 }));
    const tcpPort = portOf(engine);
    const udpPort = engine.udpPorts()[0]!.port;
    const metricsPort = engine.metricsPort()!;
    expect(engine.state).toBe('serving');

    const [first, second] = await oneOnEach(tcpPort);
    await kill(first, 'exit');
    await until(() => engine.stats().shards[0]!.state === 'given-up', 5_000);
    expect(engine.state).toBe('degraded');
    // Shard 0's UDP port now belongs to shard 1, which answers on it.
    await until(() => engine.udpPorts()[0]!.shards[0] === 1, 5_000);
    const client = await UdpClient.open();
    defer(() => client.close());
    client.send('still served', udpPort);
    const [reply] = await client.receive(1);
    expect([reply![0], reply!.subarray(1).toString()]).toEqual([1, 'still served']);

    await kill(second, 'exit');
    await until(() => events.includes('close'), 5_000);
    expect(events).toEqual([
      'ERR_SHARD_EXIT',
      'ERR_SHARD_RESTART_BUDGET',
      'ERR_SHARD_EXIT',
      'ERR_SHARD_RESTART_BUDGET',
      'failed',
      'close',
    ]);
    expect(failure).toMatchObject({
      code: 'ERR_ENGINE_FAILED',
      cause: expect.objectContaining({ code: 'ERR_SHARD_RESTART_BUDGET', shardId: 1 }),
    });
    expect(engine.state).toBe('failed');
    const stats = engine.stats();
    expect(stats).toMatchObject({ state: 'failed', spareStandingBy: false });
    expect(stats.shards.map((shard) => shard.state)).toEqual(['given-up', 'given-up']);
    expect(stats.total.connections).toBe(0);
    // Every port is free again: the TCP listener's, the UDP port's, the metrics endpoint's.
    await listenable(tcpPort, 'tcp');
    await listenable(udpPort, 'udp');
    await listenable(metricsPort, 'tcp');
    await engine.close(); // a no-op now
  });

  it('ends the process with exit code 1 by default, having said why on stderr', async () => {
    const { code, stdout, stderr } = await failingChild(false);
    expect(code).toBe(1);
    expect(stdout).toBe('closed\n');
    expect(stderr).toContain(
      'EngineFailedError: every shard (1) died and none will be restarted (restart: false)',
    );
  });

  it("leaves the process alone when the application listens for 'failed'", async () => {
    const { code, stdout, stderr } = await failingChild(true);
    expect(code).toBe(0); // it ends by itself: the engine holds nothing open any more
    expect(stdout).toBe('failed ERR_ENGINE_FAILED\nclosed\n');
    expect(stderr).toBe('');
  });
});
