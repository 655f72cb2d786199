/**
 * Per-packet costs on one thread: the checksum against raw-socket's native one, the echo builder, and
 * parse + demux of a real reply (what the coordinator pays per received packet).
 */
import { createRequire } from 'node:module';
import { internetChecksum } from '../../src/icmp/checksum.js';
import { IcmpDemux } from '../../src/icmp/demux.js';
import { writeEchoRequest } from '../../src/icmp/echo-request.js';
import { nanosPerCall } from '../lib/cpu.js';

const cpu = (fn: () => void) => nanosPerCall(fn).cpu;

interface RawChecksum {
  createChecksum(part: { buffer: Buffer; offset: number; length: number }): number;
}

/** A kernel-captured echo reply from 127.0.0.1 (test/fixtures/icmp/captured.ts). */
const REPLY = Buffer.from(
  '4500003c152c0000400167937f0000017f0000010000bce9123400074278bcfe56800800000000070c0d0e0f101112131415161718191a1b1c1d1e1f',
  'hex',
);

/** CPU nanoseconds per operation, by operation. */
export function micro(): Record<string, number> {
  const raw = createRequire(import.meta.url)('raw-socket') as RawChecksum;
  const small = Buffer.alloc(64, 0x5a);
  const mtu = Buffer.alloc(1_500, 0xa5);
  const out = new Uint8Array(128);
  const demux = new IcmpDemux({ shards: 2, identifierSpan: 32_768, udpPortOwner: () => -1 });
  let sink = 0;
  const nanos = {
    'checksum 64 B (sockshard)': cpu(() => {
      sink ^= internetChecksum(small);
    }),
    'checksum 64 B (raw-socket native)': cpu(() => {
      sink ^= raw.createChecksum({ buffer: small, offset: 0, length: 64 });
    }),
    'checksum 1500 B (sockshard)': cpu(() => {
      sink ^= internetChecksum(mtu);
    }),
    'checksum 1500 B (raw-socket native)': cpu(() => {
      sink ^= raw.createChecksum({ buffer: mtu, offset: 0, length: 1_500 });
    }),
    'writeEchoRequest 56 B': cpu(() => {
      sink ^= writeEchoRequest(out, 0, { identifier: 1, sequence: sink & 0xffff, timestamp: 1 });
    }),
    'parse + demux echo reply': cpu(() => {
      sink ^= demux.dispatch(REPLY).ok ? 1 : 0;
    }),
  };
  if (sink === 0.5) console.log(sink); // keeps the results alive
  return nanos;
}
