/**
 * HAProxy, started by the tests: a TCP balancer that sends PROXY headers (the PROXY protocol tests), and
 * examples/haproxy's HTTP balancer in front of two engines (the deploy tests).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { close, listen } from '../../src/native/binding.js';
import { TCP_LISTEN, tcpSocketsOn } from './proc-net.js';

const CONFIG = fileURLToPath(new URL('../../examples/haproxy/haproxy.cfg', import.meta.url));

/** One row of HAProxy's `show stat` (the fields the tests read; see HAProxy's management guide, 9.1). */
export interface ServerStat {
  readonly name: string;
  /** UP, DOWN, MAINT, ... */
  readonly status: string;
  /** Requests that failed to connect to the server. */
  readonly econ: number;
  /** Responses that failed (the server closed, reset, or sent garbage). */
  readonly eresp: number;
  /** Connections HAProxy retried, and redispatched to another server. */
  readonly wretr: number;
  readonly wredis: number;
  /** Times the server went from UP to DOWN. */
  readonly chkdown: number;
  /** Sessions the server took, in all. */
  readonly stot: number;
}

/** HAProxy running examples/haproxy/haproxy.cfg in front of two engines, on a frontend port of its own. */
export interface RunningHaproxy {
  readonly port: number;
  /** The backend servers' rows of `show stat`. */
  servers(): Promise<ServerStat[]>;
  stop(): Promise<void>;
}

/**
 * Starts HAProxy with the example config. Its frontend socket is bound here (port 0: a free port, with no
 * race) and passed to it as fd 3 (`bind fd@3`); the engines' addresses come from the environment, as the
 * config reads them.
 */
export async function startHaproxy(
  a: { readonly port: number; readonly healthPort: number },
  b: { readonly port: number; readonly healthPort: number },
): Promise<RunningHaproxy> {
  const dir = mkdtempSync(join(tmpdir(), 'sockshard-haproxy-'));
  const stats = join(dir, 'stats.sock');
  const frontend = listen({ host: '127.0.0.1', port: 0 });
  let child: ChildProcess;
  try {
    child = spawn('haproxy', ['-f', CONFIG, '-db'], {
      stdio: ['ignore', 'inherit', 'inherit', frontend.fd],
      env: {
        ...process.env,
        SOCKSHARD_FRONTEND: 'fd@3',
        SOCKSHARD_ENGINE_A: `127.0.0.1:${a.port}`,
        SOCKSHARD_HEALTH_A: String(a.healthPort),
        SOCKSHARD_ENGINE_B: `127.0.0.1:${b.port}`,
        SOCKSHARD_HEALTH_B: String(b.healthPort),
        SOCKSHARD_HAPROXY_STATS: stats,
      },
    });
  } finally {
    close(frontend.fd);
  }
  const exited = once(child, 'exit');
  const running: RunningHaproxy = {
    port: frontend.port,
    servers: () => showStat(stats),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  // Ready once its runtime API answers and both servers have passed their health checks.
  const deadline = Date.now() + 10_000;
  for (;;) {
    const servers = await running.servers().catch(() => []);
    if (servers.length === 2 && servers.every((server) => server.status === 'UP')) return running;
    if (Date.now() > deadline || child.exitCode !== null) {
      await running.stop();
      throw new Error(`HAProxy did not come up with both servers UP: ${JSON.stringify(servers)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** `show stat` over HAProxy's runtime API: CSV, the header line starting with '# '. */
async function showStat(path: string): Promise<ServerStat[]> {
  const socket = net.connect(path);
  socket.setEncoding('utf8');
  let text = '';
  socket.on('data', (chunk: string) => {
    text += chunk;
  });
  await once(socket, 'connect');
  socket.end('show stat\n');
  await once(socket, 'close');
  const [header, ...rows] = text.trim().split('\n');
  const columns = header!.replace(/^# /, '').split(',');
  return rows
    .map((row) => Object.fromEntries(row.split(',').map((value, i) => [columns[i], value])))
    .filter((row) => row.svname !== 'FRONTEND' && row.svname !== 'BACKEND')
    .map((row) => ({
      name: row.svname!,
      status: row.status!,
      econ: Number(row.econ),
      eresp: Number(row.eresp),
      wretr: Number(row.wretr),
      wredis: Number(row.wredis),
      chkdown: Number(row.chkdown),
      stot: Number(row.stot),
    }));
}

/** A free TCP port on 127.0.0.1 right now (HAProxy cannot bind port 0 and say which it got). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export interface ProxyHaproxy {
  /** The port clients connect to. */
  readonly port: number;
  stop(): Promise<void>;
}

/**
 * Starts HAProxy (Debian package `haproxy`) in the foreground, in TCP mode: connections to its port go to
 * 127.0.0.1:`backendPort` from the source address `source`, each preceded by a PROXY header (`send-proxy`
 * for v1, `send-proxy-v2`). Resolves once it accepts connections.
 */
export async function startProxyHaproxy(
  backendPort: number,
  source: string,
  sendProxy: 'send-proxy' | 'send-proxy-v2',
): Promise<ProxyHaproxy> {
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
