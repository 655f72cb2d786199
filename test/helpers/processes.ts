import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** tsx as a loader in the same process (its CLI would start a second one, with another pid). */
export const TSX_LOADER = fileURLToPath(
  new URL('../../node_modules/tsx/dist/esm/index.mjs', import.meta.url),
);

/** A TypeScript fixture from test/fixtures, run in a Node process of its own. */
export interface FixtureProcess {
  readonly child: ChildProcess;
  /** The next line it prints (rejects if it exits first). */
  line(): Promise<string>;
  /** Resolves with its exit code once it has exited. */
  readonly exited: Promise<number | null>;
}

export function runFixture(fixture: string, args: readonly string[] = []): FixtureProcess {
  const script = fileURLToPath(new URL(`../fixtures/${fixture}`, import.meta.url));
  const child = spawn(process.execPath, ['--import', TSX_LOADER, script, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  return {
    child,
    exited,
    async line() {
      const next = await lines.next();
      if (next.done) throw new Error(`${fixture} exited (code ${child.exitCode}) before it printed a line`);
      return next.value as string;
    },
  };
}

/** Ends a fixture process: SIGTERM, then SIGKILL if it is still there after `graceMs`. */
export async function stopFixture(fixture: FixtureProcess, graceMs = 10_000): Promise<number | null> {
  if (fixture.child.exitCode !== null || fixture.child.signalCode !== null) return fixture.exited;
  fixture.child.kill('SIGTERM');
  const timer = setTimeout(() => fixture.child.kill('SIGKILL'), graceMs);
  try {
    return await fixture.exited;
  } finally {
    clearTimeout(timer);
  }
}
