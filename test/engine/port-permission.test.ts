import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const NOBODY = 65_534;
const LOW_PORT = 81;
const unprivilegedStart = Number(readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8'));
const canDropPrivileges = process.getuid?.() === 0;
const reason = !canDropPrivileges
  ? 'needs root to start a child as nobody'
  : unprivilegedStart <= LOW_PORT
    ? `net.ipv4.ip_unprivileged_port_start is ${unprivilegedStart}: port ${LOW_PORT} is not privileged here`
    : '';

describe('permission denied on a low port', () => {
  it.skipIf(reason !== '')(
    `fails start() with EACCES for an unprivileged user${reason ? ` (skipped: ${reason})` : ''}`,
    async () => {
      const script = fileURLToPath(new URL('../fixtures/engine-low-port.ts', import.meta.url));
      const tsx = fileURLToPath(new URL('../../node_modules/tsx/dist/cli.mjs', import.meta.url));
      const { stdout } = await run(process.execPath, [tsx, script, String(LOW_PORT)], {
        uid: NOBODY,
        gid: NOBODY,
        env: { ...process.env, HOME: '/tmp', TSX_TSCONFIG_PATH: '' },
        timeout: 20_000,
      });
      const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as {
        code: string;
        syscall: string;
        message: string;
      };
      expect(result).toMatchObject({ code: 'EACCES', syscall: 'bind' });
      expect(result.message).toContain(String(LOW_PORT));
    },
  );
});
