import { describe, expect, it } from 'vitest';
import { ShardMessageTooLargeError, SockshardError, UnknownShardError } from '../../src/errors.js';
import { createShardCounters, SHARD_MESSAGE_HEADER_BYTES, type ShardInit } from '../../src/protocol.js';
import { createRing, largestRecord } from '../../src/ring/index.js';
import { ShardMesh } from '../../src/workers/shard-mesh.js';

/** Shard 0's end of a two-shard mesh, in this thread, attached to its rings unless `start` is false. */
function meshOfShard0(start = true): ShardMesh {
  const ring = () => createRing({ capacity: 1024 });
  const init = { shardId: 0, shards: 2, meshOut: [null, ring()], meshIn: [null, ring()] };
  const counters = new Int32Array(createShardCounters(2));
  const mesh = new ShardMesh(
    init as unknown as ShardInit,
    (counter) => counters[counter]!++,
    () => {},
  );
  if (start) void mesh.start();
  return mesh;
}

describe('ShardMesh.send (context.sendToShard)', () => {
  it('refuses a shard the engine does not have with a typed RangeError', () => {
    const mesh = meshOfShard0();
    for (const target of [2, -1, 0.5]) {
      const send = () => mesh.send(target, 0, new Uint8Array(1));
      expect(send, String(target)).toThrow(UnknownShardError);
      expect(send).toThrow(RangeError);
      expect(send).toThrow(SockshardError);
      expect(send).toThrow(
        expect.objectContaining({ code: 'ERR_UNKNOWN_SHARD', shardId: target, shards: 2 }),
      );
    }
  });

  it('refuses a message larger than the mesh ring can ever hold, and takes the largest that fits', () => {
    const mesh = meshOfShard0();
    const send = (length: number) => mesh.send(1, 0, new Uint8Array(length));
    expect(() => send(2_000)).toThrow(ShardMessageTooLargeError);
    expect(() => send(2_000)).toThrow(RangeError);
    const tooLarge = expect.objectContaining({ code: 'ERR_SHARD_MESSAGE_TOO_LARGE', length: 2_000 });
    expect(() => send(2_000)).toThrow(tooLarge);
    // The ring's largest record less the message header: it fits, one byte more never does.
    const maxLength = largestRecord(1024) - SHARD_MESSAGE_HEADER_BYTES;
    expect(send(maxLength)).toBe(true);
    expect(() => send(maxLength + 1)).toThrow(expect.objectContaining({ maxLength }));
  });

  it('refuses (false) before it is attached to the rings and after it closed, checking its arguments first', () => {
    // A reload's replacement prepares while the shard it replaces still writes these rings: it must not.
    const mesh = meshOfShard0(false);
    expect(mesh.send(1, 0, new Uint8Array(1))).toBe(false);
    expect(() => mesh.send(2, 0, new Uint8Array(1))).toThrow(UnknownShardError);
    void mesh.start();
    expect(mesh.send(1, 0, new Uint8Array(1))).toBe(true);
    mesh.close();
    expect(mesh.send(1, 0, new Uint8Array(1))).toBe(false);
  });
});
