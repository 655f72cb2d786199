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
      const inFlight = fetch(`http://127.0.0.1:${port}/?ms=300`).then(async (r) => [
        r.status,
        await r.text(),
      ]);
      await new Promise((resolve) => setTimeout(resolve, 100));
      child.kill('SIGTERM');
      expect(await inFlight).toEqual([200, 'done\n']);
      expect((await lines.next()).value).toBe('closed');
      const [code] = (await once(child, 'exit')) as [number];
      expect(code).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
  }, 20_000);
});
