/**
 * The one way a test may skip: for a capability this machine lacks, saying which and why in its title.
 *
 * CI names the capabilities each leg must have in `SOCKSHARD_TEST_REQUIRE` (comma-separated, set in
 * `.ci/run`); there a missing capability FAILS the test instead of skipping it, so a leg that should run a
 * test cannot pass by quietly not running it. Unset (a developer's machine), a missing capability skips.
 *
 * ```ts
 * const icmp = await requirement('raw-icmp');
 * testWith(icmp)('pings 127.0.0.1', async () => { ... });
 * // where raw ICMP cannot open: "pings 127.0.0.1 (skipped: raw-icmp: needs root or CAP_NET_RAW)"
 * ```
 *
 * Capabilities (each probed once per test file, by trying it where that is cheap):
 * - `root`: uid 0 (tests that start a child without a Linux capability drop it from a root process);
 * - `raw-icmp`: a raw ICMP socket opens here (root or CAP_NET_RAW, and a raw-socket build for this Node);
 * - `raw-socket`: the raw-socket addon loads on this Node (no privilege needed to load it);
 * - `redis-benchmark`, `haproxy`, `wrk`, `openssl`, `h2load`, `bun`: the command runs;
 * - `socket-transfer`: this Node moves a `net.Socket` to a worker by `postMessage`;
 * - `privileged-ports`: some low ports are closed to processes without CAP_NET_BIND_SERVICE
 *   (`net.ipv4.ip_unprivileged_port_start` above 1).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { it } from 'vitest';
import { IcmpSocket } from '../../src/engine/icmp-socket.js';
import { canTransferSockets } from '../../src/engine/socket-transfer.js';
import { IcmpPermissionError } from '../../src/errors.js';

export const CAPABILITIES = [
  'root',
  'raw-icmp',
  'raw-socket',
  'redis-benchmark',
  'socket-transfer',
  'privileged-ports',
  'haproxy',
  'wrk',
  'openssl',
  'h2load',
  'bun',
] as const;
export type Capability = (typeof CAPABILITIES)[number];

/** A capability as found on this machine. */
export interface Requirement {
  readonly capability: Capability;
  /** Why this machine lacks it, or '' when it has it. */
  readonly missing: string;
}

/** The capabilities that `SOCKSHARD_TEST_REQUIRE` (or `value`) says must be present. */
export function requiredCapabilities(
  value = process.env.SOCKSHARD_TEST_REQUIRE ?? '',
): ReadonlySet<Capability> {
  const names = value
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  for (const name of names) {
    // A misspelt name would otherwise make a leg require nothing, which is what this guards against.
    if (!(CAPABILITIES as readonly string[]).includes(name)) {
      throw new Error(`SOCKSHARD_TEST_REQUIRE names "${name}", not one of ${CAPABILITIES.join(', ')}`);
    }
  }
  return new Set(names as Capability[]);
}

const required = requiredCapabilities();

function commandMissing(command: string, args: readonly string[]): string {
  const result = spawnSync(command, args, { stdio: 'ignore', timeout: 10_000 });
  if (result.error !== undefined)
    return `${command} not found (${(result.error as NodeJS.ErrnoException).code})`;
  return result.status === 0 ? '' : `${command} ${args.join(' ')} exited with ${result.status}`;
}

/** `wrk --version` prints its version and usage, and exits with 1. */
function wrkMissing(): string {
  const result = spawnSync('wrk', ['--version'], { encoding: 'utf8', timeout: 10_000 });
  if (result.error !== undefined) return `wrk not found (${(result.error as NodeJS.ErrnoException).code})`;
  return result.stdout.startsWith('wrk ') ? '' : `wrk --version printed no version (exit ${result.status})`;
}

function rawSocketMissing(): string {
  try {
    createRequire(import.meta.url)('raw-socket');
    return '';
  } catch (error) {
    return `raw-socket does not load on Node ${process.version}: ${(error as Error).message.slice(0, 120)}`;
  }
}

function rawIcmpMissing(): string {
  const noAddon = rawSocketMissing();
  if (noAddon !== '') return noAddon;
  try {
    IcmpSocket.open().close();
    return '';
  } catch (error) {
    if (error instanceof IcmpPermissionError) return 'needs root or CAP_NET_RAW';
    return `a raw ICMP socket does not open: ${(error as Error).message.slice(0, 120)}`;
  }
}

/** The first port below 1024 that a process without CAP_NET_BIND_SERVICE may not bind, or 0. */
export function privilegedPort(): number {
  const start = Number(readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8'));
  return start > 1 ? Math.min(81, start - 1) : 0;
}

const probes: Record<Capability, () => string | Promise<string>> = {
  root: () => (process.getuid?.() === 0 ? '' : `runs as uid ${process.getuid?.()}, not root`),
  'raw-icmp': rawIcmpMissing,
  'raw-socket': rawSocketMissing,
  'redis-benchmark': () => commandMissing('redis-benchmark', ['--version']),
  haproxy: () => commandMissing('haproxy', ['-v']),
  wrk: wrkMissing,
  openssl: () => commandMissing('openssl', ['version']),
  h2load: () => commandMissing('h2load', ['--version']),
  bun: () => commandMissing('bun', ['--version']),
  'socket-transfer': async () =>
    (await canTransferSockets()) ? '' : `Node ${process.version} cannot move a socket by postMessage`,
  'privileged-ports': () =>
    privilegedPort() === 0
      ? 'net.ipv4.ip_unprivileged_port_start is 0 or 1: every port is open to every process here'
      : '',
};

const found = new Map<Capability, Promise<Requirement>>();

/** Probes `capability` (once per test file) and says whether this machine has it. */
export function requirement(capability: Capability): Promise<Requirement> {
  let result = found.get(capability);
  if (result === undefined) {
    result = Promise.resolve(probes[capability]()).then((missing) => ({ capability, missing }));
    found.set(capability, result);
  }
  return result;
}

/** A requirement that is met, or missing for `reason` (for checks that combine probes). */
export function requirementOf(capability: Capability, missing: string): Requirement {
  return { capability, missing };
}

/** What a test with these requirements does here: run, skip or fail, and the note its title gets. */
export type Verdict =
  | { readonly action: 'run' }
  | { readonly action: 'skip' | 'fail'; readonly note: string; readonly message: string };

export function verdict(
  requirements: readonly Requirement[],
  mustHave: ReadonlySet<Capability> = required,
): Verdict {
  const missing = requirements.filter((r) => r.missing !== '');
  if (missing.length === 0) return { action: 'run' };
  const reasons = missing.map((r) => `${r.capability}: ${r.missing}`).join('; ');
  const lacking = missing.filter((r) => mustHave.has(r.capability)).map((r) => r.capability);
  if (lacking.length === 0) return { action: 'skip', note: ` (skipped: ${reasons})`, message: reasons };
  return {
    action: 'fail',
    note: ` (required here, missing: ${reasons})`,
    message: `SOCKSHARD_TEST_REQUIRE requires ${lacking.join(', ')} on this run, and this machine lacks it: ${reasons}`,
  };
}

type TestBody = () => unknown;
export type TestWith = (name: string, body: TestBody, timeoutMs?: number) => void;

/**
 * vitest's `it` when every requirement is met. Otherwise the test's title says what is missing and why,
 * and the test skips, or fails if `SOCKSHARD_TEST_REQUIRE` names a missing capability.
 */
export function testWith(...requirements: readonly Requirement[]): TestWith {
  const result = verdict(requirements);
  if (result.action === 'run') return (name, body, timeoutMs) => it(name, body, timeoutMs);
  if (result.action === 'skip')
    return (name, body, timeoutMs) => it.skip(`${name}${result.note}`, body, timeoutMs);
  return (name) =>
    it(`${name}${result.note}`, () => {
      throw new Error(result.message);
    });
}
