import { Resolver } from 'node:dns/promises';
import { describe, expect, it } from 'vitest';
import { buildQuery, HEADER_BYTES, RCODE_FORMERR } from '../../examples/udp-dns/dns-message.js';
import { start } from '../../examples/udp-dns.js';
import { until } from '../helpers/engine.js';
import { portZeroSkipNote, portZeroSkipReason, sendFromPortZero } from '../helpers/raw-udp.js';
import { useTeardown } from '../helpers/sockets.js';
import { UdpClient } from '../helpers/udp.js';

const defer = useTeardown();

describe('examples/udp-dns', () => {
  it("answers a real resolver's A queries with 127.0.0.1, and other types with no data", async () => {
    const { engine, port, protocol } = await start({ port: 0, engine: { shards: 2 } });
    defer(() => engine.close({ timeoutMs: 200 }));
    expect(protocol).toBe('udp');
    // Node's resolver (c-ares) over UDP, with EDNS as it sends by default.
    const resolver = new Resolver({ timeout: 2_000, tries: 2 });
    resolver.setServers([`127.0.0.1:${port}`]);
    expect(await resolver.resolve4('example.test', { ttl: true })).toEqual([
      { address: '127.0.0.1', ttl: 60 },
    ]);
    expect(await resolver.resolve4('a.deeper.name.example.test')).toEqual(['127.0.0.1']);
    await expect(resolver.resolve6('example.test')).rejects.toMatchObject({ code: 'ENODATA' });
    const [udp] = engine.stats().udp;
    expect(udp!.shards).toEqual([0, 1]);
    expect(udp!.handlerErrors).toBe(0);
  });

  it('survives malformed datagrams: silence or FORMERR, never a handler error, and serves on', async () => {
    const { engine, port } = await start({ port: 0, engine: { shards: 2 } });
    defer(() => engine.close({ timeoutMs: 200 }));
    const client = await UdpClient.open();
    defer(() => client.close());

    client.send(new Uint8Array(5), port); // shorter than a header: no answer
    const response = buildQuery(1, 'example.test');
    response[2] = 0x80; // QR set: a response, never answered
    client.send(response, port);
    // Neither is answered: the next reply to arrive (one flow: one socket, in order) is the FORMERR.
    const cut = buildQuery(0x5151, 'example.test').subarray(0, HEADER_BYTES + 4);
    client.send(cut, port);
    const [formerr] = await client.receive(1);
    expect(formerr!.readUInt16BE(0)).toBe(0x5151);
    expect(formerr!.readUInt16BE(2) & 0xf).toBe(RCODE_FORMERR);

    client.send(buildQuery(0x7777, 'after.example.test'), port);
    const [answer] = await client.receive(1);
    expect(answer!.readUInt16BE(0)).toBe(0x7777);
    expect([...answer!.subarray(-4)]).toEqual([127, 0, 0, 1]);
    expect(client.received).toHaveLength(2);
    const stats = engine.stats();
    expect(stats.udp[0]!.handlerErrors).toBe(0);
    expect(stats.total.handlerErrors).toBe(0);
  });

  it.skipIf(portZeroSkipReason !== '')(
    `drops a query from source port 0 (no reply possible) and counts it, with no handler error${portZeroSkipNote}`,
    async () => {
      const { engine, port } = await start({ port: 0, engine: { shards: 2 } });
      defer(() => engine.close({ timeoutMs: 200 }));
      await sendFromPortZero(port, buildQuery(0x0101, 'from.port.zero.test'));
      await until(() => engine.stats().udp[0]!.sendErrors === 1, 5_000);
      const client = await UdpClient.open();
      defer(() => client.close());
      client.send(buildQuery(0x0202, 'after.example.test'), port);
      const [answer] = await client.receive(1);
      expect(answer!.readUInt16BE(0)).toBe(0x0202);
      const stats = engine.stats();
      expect(stats.udp[0]).toMatchObject({ datagramsIn: 2, sendErrors: 1, handlerErrors: 0 });
      expect(stats.total.handlerErrors).toBe(0);
    },
  );
});
