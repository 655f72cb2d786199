import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import { fileURLToPath } from 'node:url';

/** The `sockshard` executable, as npm links it: bin/sockshard.js (sources through tsx in a clone). */
export const CLI = fileURLToPath(new URL('../../bin/sockshard.js', import.meta.url));

/** A running `sockshard` process whose output is collected; `line()` waits for a line matching a pattern. */
export class CliProcess {
  readonly child: ChildProcessWithoutNullStreams;
  stdout = '';
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  #waiters: (() => void)[] = [];

  /** Runs `node <CLI> ...args`, or `node ...script ...args` (an example run as a script, say). */
  constructor(args: readonly string[], { timeoutMs = 30_000, script = [CLI] as readonly string[] } = {}) {
    this.child = spawn(process.execPath, [...script, ...args], { timeout: timeoutMs, killSignal: 'SIGKILL' });
    this.child.stdout.setEncoding('utf8').on('data', (text: string) => {
      this.stdout += text;
      this.#wake();
    });
    this.child.stderr.setEncoding('utf8').on('data', (text: string) => {
      this.stderr += text;
      this.#wake();
    });
    // 'close', not 'exit': by then the output pipes are drained and closed (no fd left behind).
    this.exited = once(this.child, 'close').then(([code, signal]) => {
      this.#wake();
      return { code: code as number | null, signal: signal as NodeJS.Signals | null };
    });
  }

  /** Resolves with the first stdout match of `pattern`; rejects if the process ends or `timeoutMs` passes. */
  async line(pattern: RegExp, timeoutMs = 20_000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = this.stdout.match(pattern);
      if (match !== null) return match;
      if (this.child.exitCode !== null || this.child.signalCode !== null || Date.now() > deadline) {
        throw new Error(`no line matching ${pattern}\nstdout:\n${this.stdout}\nstderr:\n${this.stderr}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 100);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  #wake(): void {
    for (const waiter of this.#waiters.splice(0)) waiter();
  }
}

/** Runs `sockshard ...args` to completion. */
export async function runCli(
  args: readonly string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const cli = new CliProcess(args);
  const { code } = await cli.exited;
  return { code, stdout: cli.stdout, stderr: cli.stderr };
}

/** GET / on 127.0.0.1:port over a new connection; resolves with the body. */
export function httpGet(port: number): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/', agent: false }, (response) => {
        response.setEncoding('utf8');
        let text = '';
        response.on('data', (chunk: string) => {
          text += chunk;
        });
        response.on('end', () => resolve(text));
      })
      .on('error', reject);
  });
}
