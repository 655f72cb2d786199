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
import { attachRing, RingConsumer, RingProducer } from '../ring/index.js';

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
  /** The largest message to each shard (by id); undefined for a shard that does not exist. */
  readonly #maxLength: readonly number[];
  #out: (RingProducer | null)[] = [];
  #in: (RingConsumer | null)[] = [];
  readonly #count: (counter: number) => void;
  readonly #deliver: MeshDelivery;
  #started = false;
  #closed = false;

  constructor(init: ShardInit, count: (counter: number) => void, deliver: MeshDelivery) {
    this.#init = init;
    // Read from each ring's header now (no ring end needed): a bad target or size throws even before start.
    this.#maxLength = init.meshOut.map((buffer) =>
      buffer === null ? Number.POSITIVE_INFINITY : attachRing(buffer).maxRecord - SHARD_MESSAGE_HEADER_BYTES,
    );
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
    const self = target === this.#init.shardId;
    const maxLength = this.#maxLength[target];
    if (maxLength === undefined) throw new UnknownShardError(target, this.#maxLength.length);
    if (data.length > maxLength) throw new ShardMessageTooLargeError(data.length, maxLength);
    if (!this.#started || this.#closed) return false;
    if (self) {
      // To ourselves: no ring, but the same contract (a copy, delivered later, in order).
      const copy = data.slice();
      setImmediate(() => this.#deliver(listenerId, copy, target));
      this.#count(COUNTER_SHARD_MESSAGES_OUT);
      return true;
    }
    const producer = this.#out[target]!;
    const offset = producer.claim(SHARD_MESSAGE_HEADER_BYTES + data.length, RECORD_SHARD_MESSAGE);
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
