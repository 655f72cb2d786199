/**
 * The system's own echo tools, run in the same run as sockshard: iputils `ping -f` (a flood at one target,
 * `-l` probes in flight) and `fping` (many targets, its use case). Both need root here, both are Debian
 * packages. Their CPU is this process's children's CPU (cutime + cstime) across the run.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { commandExists } from '../lib/children.js';
import { childrenCpuSeconds } from '../lib/cpu.js';
import { Latencies } from '../lib/latency.js';
import type { Echo } from './echo.js';

const run = promisify(execFile);
const TIMEOUT_MS = 60_000;

/** Why `tool` cannot run here, or null. */
export function missing(tool: 'ping' | 'fping'): string | null {
  if (!commandExists(tool))
    return `${tool} is not installed (apt-get install -y ${tool === 'ping' ? 'iputils-ping' : 'fping'})`;
  return process.getuid?.() === 0 ? null : `${tool} needs root here`;
}

/** `ping -f -l window -c count -q 127.0.0.1`: the rate from its own time, the average from its rtt line. */
export async function pingFlood(window: number, count: number): Promise<Echo> {
  const cpu = childrenCpuSeconds();
  const { stdout } = await run('ping', ['-f', '-l', String(window), '-c', String(count), '-q', '127.0.0.1'], {
    timeout: TIMEOUT_MS,
  });
  const totals = /(\d+) packets transmitted, (\d+) received.*?, time (\d+)ms/.exec(stdout);
  const rtt = /rtt min\/avg\/max\/mdev = [\d.]+\/([\d.]+)\//.exec(stdout);
  if (totals === null) throw new Error(`could not read ping's summary: ${stdout}`);
  return {
    sent: Number(totals[1]),
    received: Number(totals[2]),
    seconds: Number(totals[3]) / 1000,
    latency: null,
    avgMs: rtt === null ? null : Number(rtt[1]),
    cpu: { server: childrenCpuSeconds() - cpu },
  };
}

/** `fping -C count -p 1 -i 0 -g 127.0.0.1 127.0.0.<targets>`: its elapsed time, and every RTT it prints. */
export async function fping(targets: number, count: number): Promise<Echo> {
  const cpu = childrenCpuSeconds();
  const args = [
    '-C',
    String(count),
    '-q',
    '-s',
    '-p',
    '1',
    '-i',
    '0',
    '-t',
    '500',
    '-g',
    '127.0.0.1',
    `127.0.0.${targets}`,
  ];
  // fping exits 1 when a target missed a reply; its report is on stderr either way.
  const stderr = await run('fping', args, { timeout: TIMEOUT_MS }).then(
    (output) => output.stderr,
    (error: { stderr?: string }) => error.stderr ?? '',
  );
  const elapsed = /([\d.]+) sec \(elapsed real time\)/.exec(stderr);
  if (elapsed === null) throw new Error(`could not read fping -s output: ${stderr.slice(-500)}`);
  const latency = new Latencies();
  let sent = 0;
  for (const line of stderr.split('\n')) {
    const values = /^\S+\s+:\s+(.*)$/.exec(line)?.[1]?.trim().split(/\s+/) ?? [];
    for (const value of values) {
      sent++;
      if (value !== '-') latency.recordMs(Number(value));
    }
  }
  return {
    sent,
    received: latency.count,
    seconds: Number(elapsed[1]),
    latency,
    avgMs: null,
    cpu: { server: childrenCpuSeconds() - cpu },
  };
}
