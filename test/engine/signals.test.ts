import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

describe('handleSignals', () => {
  it('drains in-flight requests on SIGTERM, then the process exits by itself', async () => {
    const tsx = fileURLToPath(new URL('../../node_modules/tsx/dist/cli.mjs', import.meta.url));
    const script = fileURLToPath(new URL('../fixtures/engine-signals.ts', import.meta.url));
    const child = spawn(process.execPath, [tsx, script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
    try {
      const port = Number((await lines.next()).value);
      // The handler sends its headers at once: when they arrive, the request is in flight.
      const response = await fetch(`http://127.0.0.1:${port}/?ms=300`);
      child.kill('SIGTERM');
      expect([response.status, await response.text()]).toEqual([200, 'done\n']);
      expect((await lines.next()).value).toBe('closed');
      const [code] = (await once(child, 'exit')) as [number];
      expect(code).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
  }, 20_000);
});
