import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { startWorker } from '../../src/engine/start-worker.js';

describe('raw-socket outside the main thread', () => {
  it('is refused in a worker with IcmpUnavailableError, before raw-socket is ever loaded there', async () => {
    const worker = startWorker(new URL('../fixtures/icmp/open-icmp-socket.ts', import.meta.url));
    try {
      const [result] = (await once(worker, 'message')) as [Record<string, unknown>];
      expect(result).toMatchObject({
        opened: false,
        name: 'IcmpUnavailableError',
        code: 'ERR_ICMP_UNAVAILABLE',
      });
      expect(result.message).toContain('main thread');
    } finally {
      await worker.terminate();
    }
  });
});
