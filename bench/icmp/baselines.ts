/**
 * The system tools the ICMP benchmark measures sockshard against, run in the same process tree and the same
 * run: iputils `ping -f` (flood, a window of `-l` probes in flight, one target) and `fping` (many targets,
 * its own use case). Both need root here; both are Debian packages (`iputils-ping`, `fping`). A missing tool
 * is a skipped row with the reason, never a failure.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { type EchoOutcome, quantiles } from './figures.js';

const run = promisify(execFile);
const TIMEOUT_MS = 60_000;
const INSTALL = { ping: 'iputils-ping', fping: 'fping' } as const;

async function which(tool: keyof typeof INSTALL): Promise<string | null> {
  try {
    const { stdout } = await run('sh', ['-c', `command -v ${tool}`]);
    return stdout.trim() || null;
  } catch {
    return null;
  }
}

export async function missingTools(): Promise<string[]> {
  const missing: string[] = [];
  for (const tool of Object.keys(INSTALL) as (keyof typeof INSTALL)[]) {
    if ((await which(tool)) === null) missing.push(tool);
  }
  return missing;
}

export function installHint(tools: readonly string[]): string {
  const packages = tools.map((tool) => INSTALL[tool as keyof typeof INSTALL]).join(' ');
  return `apt-get install -y ${packages}`;
}

/** `ping -f -l window -c count -q 127.0.0.1`: rate from its own "time" figure, avg from its rtt line. */
export async function pingFlood(window: number, count: number): Promise<EchoOutcome> {
  const ping = await which('ping');
  if (ping === null) return { skipped: `ping not installed (${installHint(['ping'])})` };
  let stdout: string;
  try {
    ({ stdout } = await run(ping, ['-f', '-l', String(window), '-c', String(count), '-q', '127.0.0.1'], {
      timeout: TIMEOUT_MS,
    }));
  } catch (error) {
    return { skipped: `ping -f failed: ${firstLine(error)}` };
  }
  const totals = /(\d+) packets transmitted, (\d+) received.*?, time (\d+)ms/.exec(stdout);
  const rtt = /rtt min\/avg\/max\/mdev = [\d.]+\/([\d.]+)\//.exec(stdout);
  if (totals === null)
    return { skipped: `could not read ping's summary: ${stdout.trim().split('\n').at(-1)}` };
  const sent = Number(totals[1]);
  const received = Number(totals[2]);
  return {
    roundTripsPerSecond: received / (Number(totals[3]) / 1_000),
    sent,
    received,
    lossPercent: ((sent - received) * 100) / sent,
    p50Ms: null,
    p99Ms: null,
    avgMs: rtt === null ? null : Number(rtt[1]),
  };
}

/**
 * `fping -C count -q -s -p 1 -i 0 -t 500 -g 127.0.0.1 127.0.0.<targets>`: every target in 127/8 answers on
 * loopback; rate from fping's own elapsed time, percentiles from every RTT it prints (-C).
 */
export async function fping(targets: number, count: number): Promise<EchoOutcome> {
  const tool = await which('fping');
  if (tool === null) return { skipped: `fping not installed (${installHint(['fping'])})` };
  const args = ['-C', String(count), '-q', '-s', '-p', '1', '-i', '0', '-t', '500'];
  let stderr: string;
  try {
    ({ stderr } = await run(tool, [...args, '-g', '127.0.0.1', `127.0.0.${targets}`], {
      timeout: TIMEOUT_MS,
    }));
  } catch (error) {
    // fping exits 1 when some target did not answer; its report is still on stderr.
    const output = (error as { stderr?: string }).stderr;
    if (typeof output !== 'string' || !output.includes('elapsed real time')) {
      return { skipped: `fping failed: ${firstLine(error)}` };
    }
    stderr = output;
  }
  const rtts: number[] = [];
  let sent = 0;
  for (const line of stderr.split('\n')) {
    const values = /^\S+\s+:\s+(.*)$/.exec(line);
    if (values === null) continue;
    for (const value of values[1]!.trim().split(/\s+/)) {
      sent++;
      if (value !== '-') rtts.push(Number(value));
    }
  }
  const elapsed = /([\d.]+) sec \(elapsed real time\)/.exec(stderr);
  if (elapsed === null || sent === 0) return { skipped: 'could not read fping -s output' };
  return {
    roundTripsPerSecond: rtts.length / Number(elapsed[1]),
    sent,
    received: rtts.length,
    lossPercent: ((sent - rtts.length) * 100) / sent,
    ...quantiles(rtts),
  };
}

function firstLine(error: unknown): string {
  const text =
    (error as { stderr?: string }).stderr || (error instanceof Error ? error.message : String(error));
  return text.trim().split('\n')[0] ?? 'unknown error';
}
