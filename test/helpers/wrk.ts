import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('../fixtures/deploy/count-bodies.lua', import.meta.url));

/** What wrk counted (see count-bodies.lua): every error is a failed request or a refused connection. */
export interface WrkResult {
  readonly requests: number;
  /** Connections refused or otherwise not made. */
  readonly connect: number;
  /** Reads that failed: a reset, or a connection closed before its response. */
  readonly read: number;
  readonly write: number;
  /** Responses with a status of 400 or more. */
  readonly status: number;
  readonly timeout: number;
  readonly p99us: number;
  /** Responses by body (trailing whitespace cut). */
  readonly bodies: Readonly<Record<string, number>>;
}

/** The failures in a result, by kind (all zero when nothing failed). */
export function failures(
  result: WrkResult,
): Record<'connect' | 'read' | 'write' | 'status' | 'timeout', number> {
  const { connect, read, write, status, timeout } = result;
  return { connect, read, write, status, timeout };
}

export interface WrkRun {
  /** Stops the load (SIGINT: wrk stops and reports as at the end of its duration) and reads the result. */
  stop(): Promise<WrkResult>;
}

/**
 * Starts wrk against `url`: `connections` keep-alive connections, or with `churn`, `Connection: close` on
 * every request (a new connection per request). It runs until `stop()`, or `maxSeconds` at most (a bound
 * for a test that fails before it stops it).
 */
export function startWrk(
  url: string,
  options: { connections: number; churn?: boolean; maxSeconds?: number },
): WrkRun {
  const args = [
    '-t1',
    `-c${options.connections}`,
    `-d${options.maxSeconds ?? 30}s`,
    '--timeout',
    '5s',
    '-s',
    SCRIPT,
    ...(options.churn === true ? ['-H', 'Connection: close'] : []),
    url,
  ];
  const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    output += chunk;
  });
  // 'close', not 'exit': the process may exit before its stdout has been read to the end (a result line
  // cut short parsed as broken JSON once under load).
  const exited = once(child, 'close');
  return {
    async stop() {
      if (child.exitCode === null) child.kill('SIGINT');
      const [code] = (await exited) as [number | null];
      const line = output.split('\n').find((text) => text.startsWith('{"requests"'));
      if (line === undefined) throw new Error(`wrk (exit ${code}) printed no result:\n${output}`);
      return JSON.parse(line) as WrkResult;
    },
  };
}
