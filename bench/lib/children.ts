/**
 * The processes a benchmark starts: servers under test and load generators, each in a process group of
 * its own (node:cluster is several processes) so that one kill ends all of it, and every group is killed
 * when the benchmark exits, however it exits. A server announces itself with one JSON line on stdout,
 * `{"port": N, ...}`, and serves until SIGTERM: any program can be a contender (Bun, a C server).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { CpuMeter, childrenCpuSeconds, serverRoles, THREADS_ENV } from './cpu.js';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** `promise`, or a rejection with `message` after `ms`. */
export async function within<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${message} (${ms} ms)`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** True when `command` is on the PATH. */
export function commandExists(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`]).status === 0;
}

/** `node --import tsx <script> ...args`: how every TypeScript child runs. */
export function nodeCommand(script: URL, args: readonly string[] = []): string[] {
  return [process.execPath, '--import', 'tsx', fileURLToPath(script), ...args];
}

const live = new Set<ChildProcess>();
const killGroup = (child: ChildProcess) => {
  try {
    process.kill(-child.pid!, 'SIGKILL');
  } catch {
    // ESRCH: the group is gone already.
  }
};
let hooked = false;
/** Installed by the first child, not on import: a server imports this module for `announce`. */
function killChildrenOnExit(): void {
  if (hooked) return;
  hooked = true;
  process.once('exit', () => {
    for (const child of live) killGroup(child);
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => process.exit(128 + os.constants.signals[signal]));
  }
}

export class Child {
  readonly process: ChildProcess;
  readonly pid: number;
  readonly exited: Promise<unknown>;
  readonly #lines: AsyncIterator<string>;

  constructor(
    readonly name: string,
    command: readonly string[],
    options: { readonly env?: NodeJS.ProcessEnv; readonly cpus?: string | undefined } = {},
  ) {
    killChildrenOnExit();
    // taskset pins every thread of the command, and of its children.
    const argv = options.cpus === undefined ? command : ['taskset', '-c', options.cpus, ...command];
    this.process = spawn(argv[0]!, argv.slice(1), {
      cwd: REPO_ROOT,
      env: options.env ?? process.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    live.add(this.process);
    this.pid = this.process.pid ?? -1;
    this.exited = once(this.process, 'close').finally(() => live.delete(this.process));
    this.#lines = createInterface({ input: this.process.stdout! })[Symbol.asyncIterator]();
  }

  /** The next stdout line that is a JSON object; other lines are passed on to our stdout (`echo`) or dropped. */
  async json<T>(timeoutMs: number, echo = true): Promise<T> {
    const next = async (): Promise<T> => {
      for (;;) {
        const { value, done } = await this.#lines.next();
        if (done === true) throw new Error(`${this.name} ended before it said what was expected`);
        if (value.startsWith('{')) return JSON.parse(value) as T;
        if (echo) console.log(`  [${this.name}] ${value}`);
      }
    };
    return within(next(), timeoutMs, `${this.name}: no answer`);
  }

  /** SIGTERM, then SIGKILL to the whole group after `graceMs`. */
  async stop(graceMs = 3_000): Promise<void> {
    if (this.process.exitCode === null && this.process.signalCode === null) {
      this.process.kill('SIGTERM');
      await within(this.exited, graceMs, '').catch(() => {});
    }
    killGroup(this.process);
  }
}

/** What a server prints when it serves. */
export interface Announcement {
  readonly port: number;
  /** UDP servers: every port. */
  readonly ports?: readonly number[];
  /** Every process that serves (node:cluster); default the child alone. */
  readonly pids?: readonly number[];
}

export interface Server {
  readonly child: Child;
  readonly port: number;
  readonly ports: readonly number[];
  readonly pids: readonly number[];
  /** The role of each of its threads (`mainRole` for the first process's main thread): see serverRoles. */
  readonly roleOf: (pid: number, tid: number) => string;
  /** A CPU meter over the server's threads, named by role. */
  meter(): CpuMeter;
  stop(): Promise<void>;
}

let servers = 0;

/** Starts a server and waits for its announcement; its threads can name themselves (registerThread). */
export async function startServer(
  name: string,
  command: readonly string[],
  options: {
    readonly env?: NodeJS.ProcessEnv;
    readonly cpus?: string | undefined;
    readonly mainRole?: string;
  } = {},
): Promise<Server> {
  const threads = join(os.tmpdir(), `sockshard-bench-threads-${process.pid}-${servers++}`);
  const env = { ...(options.env ?? process.env), [THREADS_ENV]: threads };
  const child = new Child(name, command, { env, cpus: options.cpus });
  const stop = async () => {
    await child.stop();
    rmSync(threads, { force: true });
  };
  try {
    const { port, ports, pids = [child.pid] } = await child.json<Announcement>(60_000);
    const roleOf = serverRoles(pids, options.mainRole ?? 'main', threads);
    const meter = () => new CpuMeter(pids, roleOf);
    return { child, port, ports: ports ?? [port], pids, roleOf, meter, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * A server's side of the contract: announce, then close cleanly on SIGTERM. A server whose benchmark died
 * without killing it (SIGKILL) notices that it was orphaned and exits.
 */
export function announce(announcement: Announcement, close: () => unknown): void {
  const parent = process.ppid;
  setInterval(() => process.ppid !== parent && process.exit(1), 1_000).unref();
  process.once('SIGTERM', () => void Promise.resolve(close()).finally(() => process.exit(0)));
  console.log(JSON.stringify(announcement));
}

/** What `runTool` saw: the tool's stdout, and the CPU it used (every thread) over its wall time. */
export interface ToolRun {
  readonly stdout: string;
  readonly cpuSeconds: number;
  readonly wallSeconds: number;
}

/**
 * Runs a load tool (h2load) to its end and measures its CPU: cutime + cstime of this process, which
 * count children once they are waited for, so a load generator process runs its tools one at a time and
 * starts no other child meanwhile. Rejects if the tool fails.
 */
export async function runTool(command: string, args: readonly string[]): Promise<ToolRun> {
  const before = childrenCpuSeconds();
  const started = performance.now();
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  const [code, signal] = (await once(child, 'close')) as [number | null, string | null];
  if (code !== 0) throw new Error(`${command} ${args.join(' ')} failed (${code ?? signal}):\n${stdout}`);
  return {
    stdout,
    cpuSeconds: childrenCpuSeconds() - before,
    wallSeconds: (performance.now() - started) / 1000,
  };
}
