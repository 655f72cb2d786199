/**
 * The orchestrator's side of a benchmark child (a server or the load generator): a TypeScript module run by
 * `node --import tsx` in a process group of its own, spoken to over the IPC channel, and always killed.
 *
 * Why a process group: a node:cluster server is several processes, and killing the group (`kill -PGID`) ends
 * them all even if the primary is already gone. Children are killed when closed, when the benchmark fails,
 * on Ctrl-C / SIGTERM / SIGHUP, and when this process exits; a child whose IPC channel closes (this process
 * died without cleaning up) exits by itself (see server-child.ts, load-generator.ts).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';

/** Children run from the repository root, where `--import tsx` resolves. */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface Message {
  readonly type: string;
}

interface Killable {
  kill(): void;
}

const live = new Set<Killable>();

function killAll(): void {
  for (const child of live) child.kill();
}

let hooked = false;
function hookProcessEnd(): void {
  if (hooked) return;
  hooked = true;
  process.once('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      console.error(`\n${signal}: killing the benchmark's children`);
      killAll();
      process.exit(128 + os.constants.signals[signal]);
    });
  }
}

export interface ChildOptions {
  readonly args?: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  /** Run under `taskset -c cpus` (a CPU list such as '1'); default: wherever the scheduler likes. */
  readonly cpus?: string;
}

export class BenchChild<Out extends Message> implements Killable {
  readonly name: string;
  readonly #process: ChildProcess;
  #ended = false;
  #endReason = '';
  readonly #onEnd = new Set<(reason: string) => void>();

  constructor(name: string, module: URL, options: ChildOptions = {}) {
    hookProcessEnd();
    this.name = name;
    const node = ['--import', 'tsx', fileURLToPath(module), ...(options.args ?? [])];
    const [command, argv] =
      options.cpus === undefined
        ? [process.execPath, node]
        : ['taskset', ['-c', options.cpus, process.execPath, ...node]];
    this.#process = spawn(command, argv, {
      cwd: REPO_ROOT,
      env: options.env ?? process.env,
      detached: true,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    live.add(this);
    this.#process.once('error', (error) => this.#end(`could not start: ${error.message}`));
    this.#process.once('exit', (code, signal) => this.#end(`exited (${signal ?? `code ${code}`})`));
  }

  #end(reason: string): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#endReason = reason;
    // The leader is gone; end whatever else is left in its group (cluster workers), then forget it.
    this.kill();
    live.delete(this);
    for (const listener of this.#onEnd) listener(reason);
  }

  /** Waits for the next message of `type`; rejects on a 'failed' message, on its end, or after `timeoutMs`. */
  next<K extends Out['type']>(type: K, timeoutMs: number): Promise<Extract<Out, { type: K }>> {
    return new Promise((resolve, reject) => {
      if (this.#ended) {
        reject(new Error(`${this.name} ${this.#endReason} before '${type}'`));
        return;
      }
      const cleanup = () => {
        clearTimeout(timer);
        this.#process.off('message', onMessage);
        this.#onEnd.delete(onEnd);
      };
      const onMessage = (message: Out | { type: 'failed'; message: string }) => {
        if (message.type === 'failed' && 'message' in message) {
          cleanup();
          reject(new Error(`${this.name} failed: ${message.message}`));
        } else if (message.type === type) {
          cleanup();
          resolve(message as Extract<Out, { type: K }>);
        }
      };
      const onEnd = (reason: string) => {
        cleanup();
        reject(new Error(`${this.name} ${reason} while we waited for '${type}'`));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`${this.name}: no '${type}' within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#process.on('message', onMessage);
      this.#onEnd.add(onEnd);
    });
  }

  /** Sends `message` and waits for the reply of type `reply`. */
  request<K extends Out['type']>(
    message: Message,
    reply: K,
    timeoutMs: number,
  ): Promise<Extract<Out, { type: K }>> {
    const answer = this.next(reply, timeoutMs);
    this.#process.send(message, (error) => {
      if (error !== null) console.error(`${this.name}: could not send '${message.type}': ${error.message}`);
    });
    return answer;
  }

  /** Resolves once the process has exited, or after `timeoutMs`; then kills whatever is left of its group. */
  async exited(timeoutMs: number): Promise<void> {
    if (!this.#ended) {
      let timer: NodeJS.Timeout | undefined;
      let onEnd: (() => void) | undefined;
      await new Promise<void>((resolve) => {
        onEnd = resolve;
        this.#onEnd.add(onEnd);
        timer = setTimeout(resolve, timeoutMs);
      });
      clearTimeout(timer);
      if (onEnd !== undefined) this.#onEnd.delete(onEnd);
    }
    this.kill();
  }

  /** SIGKILL to the child's whole process group. */
  kill(): void {
    const pid = this.#process.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // ESRCH: the group is already empty.
    }
  }
}
