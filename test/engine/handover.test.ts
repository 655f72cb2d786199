import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect } from 'vitest';
import { type FixtureProcess, runFixture, stopFixture } from '../helpers/processes.js';
import { requirement, testWith } from '../helpers/requirements.js';
import { UdpEchoLoad } from '../helpers/udp-echo-load.js';
import { failures, startWrk } from '../helpers/wrk.js';

const wrk = await requirement('wrk');
const running: FixtureProcess[] = [];
const loads: { stop(): Promise<unknown> }[] = [];
afterEach(async () => {
  await Promise.all(loads.splice(0).map((load) => load.stop().catch(() => {})));
  await Promise.all(running.splice(0).map((fixture) => stopFixture(fixture)));
});

interface Serving {
  readonly event: 'serving';
  readonly pid: number;
  readonly http: readonly { readonly port: number; readonly socket: string }[];
  readonly udp: readonly { readonly port: number; readonly socket: string }[];
  readonly health: number;
}

function generation(
  path: string,
  version: number,
): { fixture: FixtureProcess; next(): Promise<Record<string, unknown>> } {
  const fixture = runFixture('deploy/handover-engine.ts', [path, String(version)]);
  running.push(fixture);
  return { fixture, next: async () => JSON.parse(await fixture.line()) as Record<string, unknown> };
}

describe('process hand-over', () => {
  testWith(wrk)(
    'a new process takes every socket over under keep-alive and churn load: no failed request, no refused connection, no datagram lost',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'sockshard-handover-'));
      const path = join(dir, 'handover.sock');
      try {
        const old = generation(path, 1);
        const first = (await old.next()) as unknown as Serving;
        expect(first.http.map((listener) => listener.socket)).toEqual(['bound', 'bound']);
        const [acceptorPort, kernelPort] = first.http.map((listener) => listener.port) as [number, number];
        const http = [
          startWrk(`http://127.0.0.1:${acceptorPort}/`, { connections: 8 }),
          startWrk(`http://127.0.0.1:${acceptorPort}/`, { connections: 4, churn: true }),
          startWrk(`http://127.0.0.1:${kernelPort}/`, { connections: 4, churn: true }),
        ];
        const udp = await UdpEchoLoad.start(first.udp[0]!.port, 2);
        loads.push(...http, udp);
        await new Promise((resolve) => setTimeout(resolve, 1_000));

        const successor = generation(path, 2);
        expect(await successor.next()).toEqual({ event: 'took-over', pid: first.pid });
        const second = (await successor.next()) as unknown as Serving;
        // Same ports, now served on the sockets the predecessor held: nothing was bound afresh.
        expect(second.http).toEqual([
          { port: acceptorPort, socket: 'handover' },
          { port: kernelPort, socket: 'handover' },
        ]);
        expect(second.udp).toEqual([{ port: first.udp[0]!.port, socket: 'handover' }]);
        expect(second.health).toBe(first.health);
        expect(await old.next()).toEqual({ event: 'handed-over', pid: second.pid });
        expect(await old.next()).toEqual({ event: 'closed' });
        expect(await old.fixture.exited).toBe(0);
        // The successor alone serves now, under the same load.
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        loads.splice(0);
        const results = await Promise.all(http.map((load) => load.stop()));
        const lost = await udp.stop();

        for (const result of results) {
          expect(failures(result)).toEqual({ connect: 0, read: 0, write: 0, status: 0, timeout: 0 });
          expect(Object.keys(result.bodies).sort()).toEqual(['v1', 'v2']);
          expect(result.bodies.v2).toBeGreaterThan(20);
        }
        expect(lost).toEqual({ sent: expect.any(Number), lost: 0 });
        expect((await fetch(`http://127.0.0.1:${acceptorPort}/`)).status).toBe(200);
        expect(await (await fetch(`http://127.0.0.1:${kernelPort}/`)).text()).toBe('v2\n');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    60_000,
  );
});
