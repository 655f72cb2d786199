import { describe, expect, it } from 'vitest';
import {
  close,
  DGRAM_FLAGS,
  DGRAM_LENGTH,
  DGRAM_OFFSET,
  DGRAM_TRUNCATED,
  DGRAM_WORDS,
  startUdpBatch,
  stopUdpBatch,
  UDP_META_HEADER_WORDS,
  udpBatchSizes,
  udpSocket,
} from '../../src/native/binding.js';
import { useTeardown } from '../helpers/sockets.js';
import { payload, UdpClient } from '../helpers/udp.js';

const defer = useTeardown();

interface Received {
  readonly length: number;
  readonly truncated: boolean;
  /** The slot's bytes (up to maxDatagram) for the ones that fit. */
  readonly bytes?: Buffer;
}

describe('a datagram longer than maxDatagram', () => {
  it('is flagged truncated with its real length, overruns no slot, and the next ones still arrive', async () => {
    const maxDatagram = 100;
    const batch = 8;
    const { fd, port } = udpSocket({ host: '127.0.0.1', port: 0 });
    defer(() => close(fd));
    const { slabBytes, metaLength, stride } = udpBatchSizes(maxDatagram, batch);
    expect(stride).toBe(104);
    const slab = new Uint8Array(new SharedArrayBuffer(slabBytes));
    const meta = new Int32Array(new SharedArrayBuffer(metaLength * Int32Array.BYTES_PER_ELEMENT));
    const client = await UdpClient.open();
    defer(() => client.close());
    const lengths = [50, 100, 101, 5000, 60, 0, 100];
    for (const [seq, length] of lengths.entries()) {
      await client.send(length === 0 ? Buffer.alloc(0) : payload(seq, length), port, '127.0.0.1');
    }

    const received: Received[] = [];
    const handle = startUdpBatch(fd, slab, meta, maxDatagram, batch, (count) => {
      for (let i = 0; i < count; i++) {
        const record = UDP_META_HEADER_WORDS + i * DGRAM_WORDS;
        const length = meta[record + DGRAM_LENGTH]!;
        const truncated = (meta[record + DGRAM_FLAGS]! & DGRAM_TRUNCATED) !== 0;
        const offset = meta[record + DGRAM_OFFSET]!;
        expect(offset).toBe(i * stride);
        received.push(
          truncated
            ? { length, truncated }
            : { length, truncated, bytes: Buffer.from(slab.subarray(offset, offset + length)) },
        );
      }
    });
    defer(() => stopUdpBatch(handle));
    await expect.poll(() => received.length, { timeout: 5_000 }).toBe(lengths.length);

    expect(received.map(({ length, truncated }) => [length, truncated])).toEqual([
      [50, false],
      [100, false],
      [101, true],
      [5000, true],
      [60, false],
      [0, false],
      [100, false],
    ]);
    for (const [seq, { bytes, length }] of received.entries()) {
      if (bytes !== undefined && length > 0) expect(bytes.equals(payload(seq, length))).toBe(true);
    }
  });
});
