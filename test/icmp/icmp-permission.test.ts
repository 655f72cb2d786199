import { describe, expect, it } from 'vitest';
import { IcmpPermissionError } from '../../src/errors.js';
import { requirement, testWith } from '../helpers/requirements.js';
import { childWithout, runWithout } from '../helpers/without-capability.js';

// The addon must load on this Node (else the child reports ERR_ICMP_UNAVAILABLE, not a permission).
const withoutNetRaw = testWith(await requirement('raw-socket'), childWithout('net_raw'));

describe('opening a raw ICMP socket without CAP_NET_RAW', () => {
  withoutNetRaw('fails with IcmpPermissionError saying what is needed', async () => {
    const fixture = new URL('../fixtures/icmp/open-icmp-socket.ts', import.meta.url);
    const result = (await runWithout('net_raw', fixture)) as Record<string, unknown>;
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
