import { afterEach, describe, expect, it } from 'vitest';
import { type FixtureProcess, runFixture, stopFixture } from '../helpers/processes.js';

const running: FixtureProcess[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((fixture) => stopFixture(fixture)));
});

/** Which process answers each of `count` new connections. */
async function servedBy(port: number, count: number): Promise<string[]> {
  const pids: string[] = [];
  for (let i = 0; i < count; i++) {
    const response = await fetch(`http://127.0.0.1:${port}/`, { headers: { connection: 'close' } });
    pids.push((await response.text()).split(' ')[0]!);
  }
  return pids;
}

describe("balance: 'kernel' across processes", () => {
  it('lets engines in two processes share one port, and the other serves on when one closes', async () => {
    const first = runFixture('deploy/kernel-engine.ts');
    running.push(first);
    const port = Number(await first.line());
    const second = runFixture('deploy/kernel-engine.ts', [String(port)]);
    running.push(second);
    expect(Number(await second.line())).toBe(port);
    const pids = new Set([String(first.child.pid), String(second.child.pid)]);
    // The kernel spreads connections by their 4-tuple over the 4 sockets of one SO_REUSEPORT group.
    const before = await servedBy(port, 60);
    expect(new Set(before)).toEqual(pids);
    first.child.kill('SIGTERM');
    expect(await first.line()).toBe('closed');
    expect(await first.exited).toBe(0);
    const after = await servedBy(port, 20);
    expect(new Set(after)).toEqual(new Set([String(second.child.pid)]));
  }, 60_000);
});
