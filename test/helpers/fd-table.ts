/**
 * Running out of fds on purpose: a child process with a small fd limit (so that filling its table is
 * quick), and filling the table from inside it. No vitest import: the fixtures that run in those
 * children use it too.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { openSync } from 'node:fs';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Runs a TypeScript fixture (a path) with tsx under `ulimit -n limit`, with an IPC channel. */
export function spawnWithFdLimit(fixture: string, limit: number): ChildProcess {
  return spawn(
    '/bin/sh',
    ['-c', `ulimit -n ${limit} && exec "$0" --import tsx "$1"`, process.execPath, fixture],
    { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
  );
}

/** A started fd-starved child (see `clientOfFdStarvedChild`) and the client waiting on its port. */
export interface FdStarvedChild {
  readonly child: ChildProcess;
  readonly client: net.Socket;
  /** The child's next message after `{ port }`. */
  readonly report: Promise<unknown>;
  readonly exited: Promise<number | null>;
}

/**
 * Starts `fixture` under `ulimit -n limit`; once it posts `{ port }` (its fd table full), connects a client
 * to that port, which the child cannot accept yet. `defer` registers the cleanups (kill, destroy).
 */
export async function clientOfFdStarvedChild(
  fixture: string,
  limit: number,
  defer: (cleanup: () => unknown) => void,
): Promise<FdStarvedChild> {
  const child = spawnWithFdLimit(fixture, limit);
  defer(() => child.kill());
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const [{ port }] = (await once(child, 'message')) as [{ port: number }];
  const report = once(child, 'message').then(([message]) => message as unknown);
  const client = net.connect(port, '127.0.0.1');
  defer(() => client.destroy());
  await once(client, 'connect');
  return { child, client, report, exited };
}

/** Opens /dev/null until the table is full (EMFILE), pushing each fd onto `fillers` (the caller closes them). */
export function fillFdTable(fillers: number[]): void {
  for (;;) {
    try {
      fillers.push(openSync('/dev/null', 'r'));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EMFILE') throw error;
      return;
    }
  }
}
