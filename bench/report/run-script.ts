/**
 * Runs one TypeScript script in a child process (`node <tsx cli> <file> ...args`) and streams what it
 * prints, line by line. Used by bench/all.ts to run each benchmark alone, in a process of its own, as it
 * would run by hand (`npm run bench:<name>`).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const tsxCli = fileURLToPath(new URL('../../node_modules/tsx/dist/cli.mjs', import.meta.url));

/** Lines of a failed script's output quoted in its error. */
const TAIL_LINES = 30;

/** Scripts still running are killed if this process exits first (Ctrl-C, a signal, an error). */
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGTERM');
});

export interface RunOptions {
  readonly cwd: string;
  /** Called for every line of stdout and stderr. */
  readonly onLine: (line: string) => void;
  /**
   * Also call `onLine` with the line still being written: the benchmarks print a dot per measurement on
   * one line, which is their progress. Off where every call is printed for good (no terminal).
   */
  readonly partialLines?: boolean;
}

/** Resolves when the script exits with 0; rejects with its last lines of output otherwise. */
export function runScript(file: string, args: readonly string[], options: RunOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [tsxCli, file, ...args], {
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    running.add(child);
    const tail: string[] = [];
    const line = (text: string) => {
      tail.push(text);
      if (tail.length > TAIL_LINES) tail.shift();
      options.onLine(text);
    };
    for (const stream of [child.stdout, child.stderr]) {
      let pending = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        const lines = (pending + chunk).split('\n');
        pending = lines.pop() ?? '';
        for (const complete of lines) line(complete);
        if (options.partialLines === true && pending !== '') options.onLine(pending);
      });
      stream.on('end', () => {
        if (pending !== '') line(pending);
      });
    }
    child.once('error', (error) => {
      running.delete(child);
      reject(error);
    });
    // 'close', not 'exit': by then both streams have ended and every line has been passed on.
    child.once('close', (code, signal) => {
      running.delete(child);
      if (code === 0) {
        resolve();
        return;
      }
      const how = signal === null ? `exited with code ${code}` : `was killed by ${signal}`;
      reject(new Error(`${file} ${how}; its last lines:\n${tail.join('\n')}`));
    });
  });
}
