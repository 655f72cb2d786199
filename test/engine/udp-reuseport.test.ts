import { describe, expect, it } from 'vitest';
import { createEngine } from '../../src/index.js';
import { fixtureHandler } from '../helpers/engine.js';
import { useTeardown } from '../helpers/sockets.js';
import { UdpClient } from '../helpers/udp.js';

const defer = useTeardown();
const FLOWS = 40;

describe('UDP reusePort', () => {
  it('binds the port in every shard and the kernel spreads client flows over them', async () => {
    const engine = createEngine({ shards: 2 }).udp({
      ports: [0],
      handler: fixtureHandler('udp-echo.ts'),
      reusePort: true,
    });
    await engine.start();
    defer(() => engine.close({ timeoutMs: 200 }));
    const { port, shards } = engine.udpPorts()[0]!;
    expect(shards).toEqual([0, 1]);
    const served = [0, 0];
    for (let flow = 0; flow < FLOWS; flow++) {
      const client = await UdpClient.open();
      defer(() => client.close());
      const owners = new Set<number>();
      for (let i = 0; i < 5; i++) {
        client.send(`flow ${flow} ${i}`, port);
        const [reply] = await client.receive(1);
        expect(reply!.subarray(1).toString()).toBe(`flow ${flow} ${i}`);
        owners.add(reply![0]!);
      }
      // One flow (one 4-tuple) always hashes to the same socket.
      expect(owners.size).toBe(1);
      served[[...owners][0]!]! += 1;
    }
    // 40 flows hashed over 2 sockets: both get some (all on one side: p = 2^-39).
    expect(Math.min(...served)).toBeGreaterThan(0);
    await expect.poll(() => engine.udpPorts()[0]!.datagramsIn, { timeout: 2_000 }).toBe(FLOWS * 5);
  });
});
