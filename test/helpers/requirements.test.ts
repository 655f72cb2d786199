import { describe, expect, it } from 'vitest';
import { requiredCapabilities, requirementOf, verdict } from './requirements.js';

describe('the skip policy (test/helpers/requirements.ts)', () => {
  it('reads SOCKSHARD_TEST_REQUIRE as a comma-separated list, and refuses names it does not know', () => {
    expect([...requiredCapabilities(' root, raw-icmp ,,redis-benchmark ')]).toEqual([
      'root',
      'raw-icmp',
      'redis-benchmark',
    ]);
    expect(requiredCapabilities('').size).toBe(0);
    expect(() => requiredCapabilities('root,raw-icpm')).toThrow(/"raw-icpm", not one of root, raw-icmp/);
  });

  it('runs a test whose capabilities are present, skips one that lacks them, fails one that must have them', () => {
    const present = requirementOf('root', '');
    const absent = requirementOf('raw-icmp', 'needs root or CAP_NET_RAW');
    expect(verdict([present], new Set(['root', 'raw-icmp']))).toEqual({ action: 'run' });
    expect(verdict([present, absent], new Set())).toEqual({
      action: 'skip',
      note: ' (skipped: raw-icmp: needs root or CAP_NET_RAW)',
      message: 'raw-icmp: needs root or CAP_NET_RAW',
    });
    expect(verdict([present, absent], new Set(['raw-icmp']))).toMatchObject({
      action: 'fail',
      note: ' (required here, missing: raw-icmp: needs root or CAP_NET_RAW)',
      message: expect.stringContaining('SOCKSHARD_TEST_REQUIRE requires raw-icmp'),
    });
    // Required elsewhere than what is missing: a skip.
    expect(verdict([absent], new Set(['root']))).toMatchObject({ action: 'skip' });
  });
});
