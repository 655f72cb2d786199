import { ShardMessageTooLargeError, UnknownShardError } from '../errors.js';
import {
  COUNTER_MESH_FULL,
  COUNTER_SHARD_MESSAGES_IN,
  COUNTER_SHARD_MESSAGES_OUT,
  RECORD_SHARD_MESSAGE,
  SHARD_MESSAGE_HEADER_BYTES,
  SHARD_MESSAGE_LISTENER,
  type ShardInit,
} from '../protocol.js';
import { RingConsumer, RingProducer } from '../ring/index.js';

/** Where a shard delivers a message from another shard. */
export type MeshDelivery = (listenerId: number, data: Uint8Array, fromShard: number) => void;

/**
 * This shard's end of the ring mesh: a producer on the ring to every other shard and a consumer on the
 * ring from every other shard. Each incoming ring has its own pump parked on `waitAsync`, so a quiet peer
 * costs nothing and a busy one wakes only this shard.
 *
 * The ring ends are made at `start()`, not before: each ring has one producer and one consumer at a time,
 * and a rolling reload's replacement prepares while the shard it replaces still uses them (their cached
 * indices would be stale by the time it serves). Before `start()` and after `close()`, `send` refuses.
 */
export class ShardMesh {
  readonly #init: ShardInit;
  #out: (RingProducer | null)[] = [];
  #in: (RingConsumer | null)[] = [];
  readonly #count: (counter: number) => void;
  readonly #deliver: MeshDelivery;
  #started = false;
  #closed = false;

  constructor(init: ShardInit, count: (counter: number) => void, deliver: MeshDelivery) {
    this.#init = init;
    this.#count = count;
    this.#deliver = deliver;
  }

  /**
   * Attaches to the rings and starts one pump per incoming ring; resolves when they have all stopped
   * (rejects if one fails).
   */
  async start(): Promise<void> {
    const init = this.#init;
    this.#out = init.meshOut.map((buffer) => (buffer === null ? null : new RingProducer(buffer)));
    this.#in = init.meshIn.map((buffer) => (buffer === null ? null : new RingConsumer(buffer)));
    this.#started = true;
    await Promise.all(
      this.#in.map((consumer, from) => (consumer === null ? undefined : this.#pump(consumer, from))),
    );
  }

  /** False when the ring is full, and while this shard is not attached to the mesh (see the class doc). */
  send(target: number, listenerId: number, data: Uint8Array): boolean {
    if (!this.#started || this.#closed) return false;
    if (target === this.#init.shardId) {
      // To ourselves: no ring, but the same contract (a copy, delivered later, in order).
      const copy = data.slice();
      setImmediate(() => this.#deliver(listenerId, copy, target));
      this.#count(COUNTER_SHARD_MESSAGES_OUT);
      return true;
    }
    const producer = this.#out[target];
    if (producer === undefined || producer === null) throw new UnknownShardError(target, this.#out.length);
    const length = SHARD_MESSAGE_HEADER_BYTES + data.length;
    if (length > producer.maxRecord)
      throw new ShardMessageTooLargeError(data.length, producer.maxRecord - SHARD_MESSAGE_HEADER_BYTES);
    const offset = producer.claim(length, RECORD_SHARD_MESSAGE);
    if (offset < 0) {
      this.#count(COUNTER_MESH_FULL);
      return false;
    }
    producer.words[(offset >> 2) + SHARD_MESSAGE_LISTENER] = listenerId;
    producer.bytes.set(data, offset + SHARD_MESSAGE_HEADER_BYTES);
    producer.commit();
    this.#count(COUNTER_SHARD_MESSAGES_OUT);
    return true;
  }

  close(): void {
    this.#closed = true;
  }

  async #pump(consumer: RingConsumer, from: number): Promise<void> {
    const words = consumer.words;
    const onRecord = (bytes: Uint8Array, offset: number, length: number): void => {
      this.#count(COUNTER_SHARD_MESSAGES_IN);
      const data = bytes.subarray(offset + SHARD_MESSAGE_HEADER_BYTES, offset + length);
      this.#deliver(words[(offset >> 2) + SHARD_MESSAGE_LISTENER]!, data, from);
    };
    while (!this.#closed) {
      if (consumer.drain(onRecord) === 0) await consumer.waitForData();
    }
  }
}
