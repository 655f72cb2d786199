import { describe, expect, it } from 'vitest';
import { RingLayoutError, SockshardError } from '../../src/errors.js';
import { attachRing, createRing, RingConsumer, RingProducer } from '../../src/ring/index.js';
import { RING_LAYOUT_VERSION, VERSION } from '../../src/ring/layout.js';

describe('ring layout', () => {
  it('creates a ring whose header both sides read back', () => {
    const buffer = createRing({ capacity: 4096, maxRecord: 1000 });
    const layout = attachRing(buffer, { capacity: 4096, maxRecord: 1000 });
    expect(layout.capacity).toBe(4096);
    expect(layout.maxRecord).toBe(1000);
    expect(layout.bytes.byteLength).toBe(4096);
    expect(layout.bytes.byteOffset % 64).toBe(0);
    expect(new RingProducer(buffer).maxRecord).toBe(1000);
    expect(new RingConsumer(buffer).capacity).toBe(4096);
  });

  it('defaults maxRecord to half the capacity less a header', () => {
    expect(attachRing(createRing({ capacity: 1024 })).maxRecord).toBe(504);
  });

  it.each([0, 63, 100, 3000, 2 ** 31])('rejects capacity %d', (capacity) => {
    expect(() => createRing({ capacity })).toThrow(RangeError);
  });

  it('rejects a maxRecord that could never fit', () => {
    expect(() => createRing({ capacity: 1024, maxRecord: 505 })).toThrow(RangeError);
    expect(() => createRing({ capacity: 1024, maxRecord: -1 })).toThrow(RangeError);
  });

  it('refuses a buffer that is not a ring', () => {
    const attach = (buffer: SharedArrayBuffer) => () => attachRing(buffer);
    expect(attach(new SharedArrayBuffer(16))).toThrow(/too small/);
    expect(attach(new SharedArrayBuffer(4096))).toThrow(/not a sockshard ring/);
    expect(() => attachRing(new ArrayBuffer(4096) as unknown as SharedArrayBuffer)).toThrow(RingLayoutError);
  });

  it('refuses a buffer whose size does not match its header', () => {
    const ring = createRing({ capacity: 1024 });
    const bigger = new SharedArrayBuffer(ring.byteLength + 64);
    new Uint8Array(bigger).set(new Uint8Array(ring));
    expect(() => attachRing(bigger)).toThrow(/needs/);
  });

  it('refuses another layout version', () => {
    const ring = createRing({ capacity: 1024 });
    new Int32Array(ring)[VERSION] = RING_LAYOUT_VERSION + 1;
    const error = (() => {
      try {
        attachRing(ring);
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(RingLayoutError);
    expect(error).toBeInstanceOf(SockshardError);
    expect(error).toMatchObject({ code: 'ERR_RING_LAYOUT' });
  });

  it('refuses a ring whose configuration differs from what the caller expects', () => {
    const ring = createRing({ capacity: 1024 });
    expect(() => new RingConsumer(ring, { capacity: 2048 })).toThrow(/expected capacity 2048/);
    expect(() => new RingProducer(ring, { maxRecord: 10 })).toThrow(/expected maxRecord 10/);
  });
});
