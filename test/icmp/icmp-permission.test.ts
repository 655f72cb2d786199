import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { IcmpPermissionError } from '../../src/errors.js';
import { icmpSkipNote, icmpSkipReason } from '../helpers/icmp.js';

const run = promisify(execFile);
const NOBODY = 65_534;
// Root to start a child as nobody, and a raw-socket that loads on this Node at all.
const root = icmpSkipReason === '';

describe('opening a raw ICMP socket without CAP_NET_RAW', () => {
  it.skipIf(!root)(`fails with IcmpPermissionError saying what is needed${icmpSkipNote}`, async () => {
    const script = fileURLToPath(new URL('../fixtures/icmp/open-icmp-socket.ts', import.meta.url));
    const tsx = fileURLToPath(new URL('../../node_modules/tsx/dist/cli.mjs', import.meta.url));
    const { stdout } = await run(process.execPath, [tsx, script], {
      uid: NOBODY,
      gid: NOBODY,
      env: { ...process.env, HOME: '/tmp', TSX_TSCONFIG_PATH: '' },
      timeout: 20_000,
    });
    const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
    expect(result).toMatchObject({
      opened: false,
      name: 'IcmpPermissionError',
      code: 'ERR_ICMP_PERMISSION',
      errnoName: 'EPERM',
      family: true,
    });
    expect(result.message).toContain('CAP_NET_RAW');
    expect(result.message).toContain('Run as root');
    expect(result.message).toContain('setcap cap_net_raw+ep $(command -v node)');
  });

  it('is a SockshardError with a stable code and the errno name', () => {
    const error = new IcmpPermissionError('EPERM', new Error('operation not permitted'));
    expect(error).toMatchObject({ code: 'ERR_ICMP_PERMISSION', errnoName: 'EPERM', syscall: 'socket' });
  });
});
