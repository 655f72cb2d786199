/**
 * Per-packet costs on one thread: the checksum against raw-socket's native one, the echo builder, and
 * parse + demux of a real reply (what the coordinator pays per received packet).
 */
import { createRequire } from 'node:module';
import { Bench } from 'tinybench';
import { internetChecksum } from '../../src/icmp/checksum.js';
import { IcmpDemux } from '../../src/icmp/demux.js';
import { writeEchoRequest } from '../../src/icmp/echo-request.js';

interface RawChecksum {
  createChecksum(part: { buffer: Buffer; offset: number; length: number }): number;
}

/** A kernel-captured echo reply from 127.0.0.1 (test/fixtures/icmp/captured.ts). */
const REPLY = Buffer.from(
  '4500003c152c0000400167937f0000017f0000010000bce9123400074278bcfe56800800000000070c0d0e0f101112131415161718191a1b1c1d1e1f',
  'hex',
);

export async function micro(quick: boolean): Promise<Record<string, number>> {
  const raw = createRequire(import.meta.url)('raw-socket') as RawChecksum;
  const small = Buffer.alloc(64, 0x5a);
  const mtu = Buffer.alloc(1_500, 0xa5);
  const out = new Uint8Array(128);
  const demux = new IcmpDemux({ shards: 2, identifierSpan: 32_768, udpPortOwner: () => -1 });
  let sink = 0;
  const bench = new Bench({ time: quick ? 150 : 500, warmupTime: 50 });
  bench
    .add('checksum 64 B (sockshard)', () => {
      sink ^= internetChecksum(small);
    })
    .add('checksum 64 B (raw-socket native)', () => {
      sink ^= raw.createChecksum({ buffer: small, offset: 0, length: 64 });
    })
    .add('checksum 1500 B (sockshard)', () => {
      sink ^= internetChecksum(mtu);
    })
    .add('checksum 1500 B (raw-socket native)', () => {
      sink ^= raw.createChecksum({ buffer: mtu, offset: 0, length: 1_500 });
    })
    .add('writeEchoRequest 56 B', () => {
      sink ^= writeEchoRequest(out, 0, { identifier: 1, sequence: sink & 0xffff, timestamp: 1 });
    })
    .add('parse + demux echo reply', () => {
      sink ^= demux.dispatch(REPLY).ok ? 1 : 0;
    });
  await bench.run();
  if (sink === 0.5) console.log(sink);
  const perSecond: Record<string, number> = {};
  for (const task of bench.tasks) {
    const result = task.result;
    if (result.state !== 'completed') throw new Error(`${task.name}: ${result.state}`);
    perSecond[task.name] = 1_000 / result.latency.mean;
  }
  return perSecond;
}
