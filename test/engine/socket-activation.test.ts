import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { close, listen, udpSocket } from '../../src/native/binding.js';
import { TSX_LOADER } from '../helpers/processes.js';
import { UdpClient } from '../helpers/udp.js';

const script = fileURLToPath(new URL('../fixtures/deploy/socket-activated.ts', import.meta.url));

interface Activated {
  readonly child: ChildProcess;
  readonly serving: {
    readonly http: { readonly port: number; readonly socket: string };
    readonly udp?: { readonly port: number; readonly socket: string };
    readonly env: string | null;
  };
}

/**
 * Starts the fixture as systemd starts a socket-activated service: `fds` at 3, 4, ... and LISTEN_FDS,
 * LISTEN_FDNAMES, and LISTEN_PID set to the child's own pid (the shell's `$$`, which `exec` keeps), unless
 * `pid` names another. The parent closes its copies at once: from then on only the child holds the sockets.
 */
async function activate(
  fds: readonly number[],
  args: readonly number[],
  env: { names?: string; pid?: string } = {},
): Promise<Activated> {
  const child = spawn(
    '/bin/sh',
    [
      '-c',
      `export LISTEN_PID=${env.pid ?? '$$'}; exec "$0" "$@"`,
      process.execPath,
      '--import',
      TSX_LOADER,
      script,
      ...args.map(String),
    ],
    {
      stdio: ['ignore', 'pipe', 'inherit', ...fds],
      env: {
        ...process.env,
        LISTEN_FDS: String(fds.length),
        ...(env.names === undefined ? {} : { LISTEN_FDNAMES: env.names }),
      },
    },
  );
  for (const fd of fds) close(fd);
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const first = await lines.next();
  if (first.done) throw new Error('the activated engine exited before it served');
  return { child, serving: JSON.parse(first.value as string) as Activated['serving'] };
}

async function stop(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const [code] = (await exited) as [number | null];
  return code;
}

describe('systemd socket activation', () => {
  it('serves on the listening socket passed as fd 3 with LISTEN_FDS=1', async () => {
    const tcp = listen({ host: '127.0.0.1', port: 0 });
    const { child, serving } = await activate([tcp.fd], [tcp.port]);
    try {
      expect(serving.http).toMatchObject({ port: tcp.port, socket: 'systemd' });
      // The variables are gone once read, so that processes the engine's process starts do not act on them.
      expect(serving.env).toBeNull();
      const response = await fetch(`http://127.0.0.1:${tcp.port}/activated`);
      expect(await response.text()).toBe('hello from shard 0 /activated\n');
    } finally {
      expect(await stop(child)).toBe(0);
    }
  }, 30_000);

  it('finds a socket by its FileDescriptorName, and a UDP socket by its port', async () => {
    const tcp = listen({ host: '127.0.0.1', port: 0 });
    const udp = udpSocket({ host: '127.0.0.1', port: 0 });
    const { child, serving } = await activate([tcp.fd, udp.fd], [0, udp.port], { names: 'web:dns' });
    const client = await UdpClient.open();
    try {
      expect(serving.http).toMatchObject({ port: tcp.port, socket: 'systemd' });
      expect(serving.udp).toMatchObject({ port: udp.port, socket: 'systemd' });
      expect(await (await fetch(`http://127.0.0.1:${tcp.port}/`)).text()).toBe('hello from shard 0 /\n');
      client.send('ping', udp.port);
      const [reply] = await client.receive(1);
      expect(reply!.subarray(1).toString()).toBe('ping');
    } finally {
      await client.close();
      expect(await stop(child)).toBe(0);
    }
  }, 30_000);

  it('ignores sockets meant for another process (LISTEN_PID is not its pid) and binds its own', async () => {
    const tcp = listen({ host: '127.0.0.1', port: 0 });
    const { child, serving } = await activate([tcp.fd], [0], { pid: String(process.pid) });
    try {
      expect(serving.http.socket).toBe('bound');
      expect(serving.http.port).not.toBe(tcp.port);
      expect(await (await fetch(`http://127.0.0.1:${serving.http.port}/`)).text()).toBe(
        'hello from shard 0 /\n',
      );
    } finally {
      expect(await stop(child)).toBe(0);
    }
  }, 30_000);
});
