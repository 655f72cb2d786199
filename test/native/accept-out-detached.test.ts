import { describe, expect, it } from 'vitest';
import { acceptError, close, listen, startAccepting, stopAccepting } from '../../src/native/binding.js';
import { afterPollPhase } from '../helpers/loop.js';
import { connect, destroy, useTeardown } from '../helpers/sockets.js';

const defer = useTeardown();

describe('an out array whose buffer is detached while accepting', () => {
  it('is never written through: accepting pauses with -EFAULT', async () => {
    const { fd, port } = listen({ host: '127.0.0.1', port: 0 });
    defer(() => close(fd));
    const out = new Int32Array(new ArrayBuffer(16));
    const counts: number[] = [];
    const reported = new Promise<void>((resolve) => {
      const handle = startAccepting(fd, out, (count) => {
        counts.push(count);
        resolve();
      });
      defer(() => stopAccepting(handle));
    });
    structuredClone(out.buffer, { transfer: [out.buffer] });
    expect(out.length).toBe(0);
    const client = await connect(port, '127.0.0.1');
    defer(() => destroy(client));
    await reported;
    await afterPollPhase(); // paused: the connection still waits, and a poll still on would report again
    expect(counts).toEqual([-14]);
    expect(acceptError(counts[0]!).code).toBe('EFAULT');
  });
});
