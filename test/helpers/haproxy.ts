import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TCP_LISTEN, tcpSocketsOn } from './proc-net.js';

/** A free TCP port on 127.0.0.1 right now (HAProxy cannot bind port 0 and say which it got). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export interface Haproxy {
  /** The port clients connect to. */
  readonly port: number;
  stop(): Promise<void>;
}

/**
 * Starts HAProxy (Debian package `haproxy`) in the foreground, in TCP mode: connections to its port go to
 * 127.0.0.1:`backendPort` from the source address `source`, each preceded by a PROXY header (`send-proxy`
 * for v1, `send-proxy-v2`). Resolves once it accepts connections.
 */
export async function startHaproxy(
  backendPort: number,
  source: string,
  sendProxy: 'send-proxy' | 'send-proxy-v2',
): Promise<Haproxy> {
  const dir = mkdtempSync(join(tmpdir(), 'sockshard-haproxy-'));
  const port = await freePort();
  const config = join(dir, 'haproxy.cfg');
  writeFileSync(
    config,
    [
      'global',
      '  maxconn 512',
      'defaults',
      '  mode tcp',
      '  timeout connect 5s',
      '  timeout client 30s',
      '  timeout server 30s',
      'frontend clients',
      `  bind 127.0.0.1:${port}`,
      '  default_backend engine',
      'backend engine',
      `  server shards 127.0.0.1:${backendPort} ${sendProxy} source ${source}`,
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn('haproxy', ['-db', '-f', config], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`haproxy exited with ${child.exitCode}: ${stderr}`);
    }
    // Read the kernel's table rather than connect: a probe connection would reach the engine too.
    if (tcpSocketsOn(port).some((socket) => socket.state === TCP_LISTEN)) return { port, stop };
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`haproxy did not listen on ${port} within 10 s: ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
