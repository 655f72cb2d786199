/**
 * Runs a TypeScript fixture in a child `node` that lacks one Linux capability, for the tests of what the
 * engine says when it is refused a raw socket or a low port.
 *
 * Why not `uid: nobody`, as these tests once did: a child of another user cannot read a checkout under a
 * private directory (root's home is 0700, where root naturally clones), and failed with "Cannot find module
 * .../tsx/dist/cli.mjs". Dropping the one capability instead keeps the child's user, so it reads the
 * checkout wherever it is, and it tests the precise condition the engine reports (EPERM without
 * CAP_NET_RAW, EACCES without CAP_NET_BIND_SERVICE). A root process drops it with util-linux's `setpriv`
 * from the bounding and inheritable sets (for uid 0, execve grants exactly what remains of those); a
 * process that does not hold the capability in the first place runs the child as it is.
 */
import { execFile, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type Requirement, requirementOf } from './requirements.js';

/** The capabilities these tests go without, with their bit numbers in /proc's capability masks. */
const CAPABILITY_BITS = { net_bind_service: 10, net_raw: 13 } as const;
export type LinuxCapability = keyof typeof CAPABILITY_BITS;

const TSX = fileURLToPath(new URL('../../node_modules/tsx/dist/cli.mjs', import.meta.url));

/** Whether this process's effective set holds `capability`. */
function holds(capability: LinuxCapability): boolean {
  const line = readFileSync('/proc/self/status', 'utf8').match(/^CapEff:\s*([0-9a-f]+)$/m);
  if (line === null) return false;
  return (BigInt(`0x${line[1]}`) & (1n << BigInt(CAPABILITY_BITS[capability]))) !== 0n;
}

function setprivMissing(): string {
  const result = spawnSync('setpriv', ['--version'], { stdio: 'ignore' });
  if (result.error !== undefined)
    return 'setpriv (util-linux) not found, and root needs it to drop a capability';
  return result.status === 0 ? '' : `setpriv --version exited with ${result.status}`;
}

/**
 * What it takes to start a child without `capability`: nothing if this process lacks it already; else
 * root, which may drop it (with setpriv). As a `root` requirement, so that the test skips or fails by the
 * suite's policy.
 */
export function childWithout(capability: LinuxCapability): Requirement {
  if (!holds(capability)) return requirementOf('root', '');
  if (process.getuid?.() !== 0) {
    return requirementOf(
      'root',
      `this process holds CAP_${capability.toUpperCase()} without being root, so it cannot drop it for a child`,
    );
  }
  return requirementOf('root', setprivMissing());
}

/**
 * Runs `fixture` (a .ts file, through tsx) with `args` in a child without `capability`, and resolves with
 * its last line of output parsed as JSON. Check `childWithout(capability)` first.
 */
export async function runWithout(
  capability: LinuxCapability,
  fixture: URL,
  args: readonly string[] = [],
): Promise<unknown> {
  const node = [process.execPath, TSX, fileURLToPath(fixture), ...args];
  const command = holds(capability)
    ? ['setpriv', `--inh-caps=-${capability}`, `--bounding-set=-${capability}`, '--', ...node]
    : node;
  const { stdout } = await promisify(execFile)(command[0]!, command.slice(1), { timeout: 20_000 });
  return JSON.parse(stdout.trim().split('\n').at(-1)!);
}
