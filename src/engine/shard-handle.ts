import type { Socket } from 'node:net';
import type { ResourceLimits, TransferListItem, Worker } from 'node:worker_threads';
import {
  ControlRingFullError,
  HandlerError,
  reviveError,
  ShardExitError,
  type SockshardError,
} from '../errors.js';
import type { IpAddress } from '../ip-address.js';
import { close } from '../native/binding.js';
import {
  addressTableSlice,
  type BecomeShard,
  CONTROL_RECORD_FD,
  COUNTER_ACCEPTED,
  COUNTER_CLOSED,
  type CoordinatorMessage,
  counterIndex,
  HANDOFF_ADDRESS,
  HANDOFF_ADDRESS_BUCKET,
  HANDOFF_BYTES,
  HANDOFF_FAMILY,
  HANDOFF_FD,
  HANDOFF_LISTENER,
  HANDOFF_PORT,
  HANDOFF_PROXIED_BYTES,
  LISTEN_SOCKET_BYTES,
  LISTEN_SOCKET_FD,
  LISTEN_SOCKET_LISTENER,
  RECORD_HANDOFF,
  RECORD_HANDOFF_PROXIED,
  RECORD_LISTEN_SOCKET,
  RECORD_UDP_SOCKET,
  type ShardInit,
  type ShardMessage,
  type SpareInit,
  UDP_SOCKET_BYTES,
  UDP_SOCKET_FD,
  UDP_SOCKET_LISTENER,
  UDP_SOCKET_PORT,
  UDP_SOCKET_PORT_INDEX,
} from '../protocol.js';
import { RingConsumer, RingProducer, readRingStats } from '../ring/index.js';
import type { Balanced } from './balancer.js';
import { siblingModule, startWorker } from './start-worker.js';

const SHARD_ENTRY = siblingModule('../workers/shard-main.js', import.meta.url);

/** Extra time a shard worker gets, past its drain deadline or to finish starting, before it is terminated. */
export const EXIT_GRACE_MS = 2_000;

interface Waiter {
  message(message: ShardMessage): void;
  exit(exitCode: number): void;
}

/** How a shard's worker is started. */
export interface ShardWorkerOptions {
  readonly resourceLimits?: ResourceLimits;
  readonly maxConnections: number;
}

/**
 * A shard worker started ahead of need (see `SpareInit`): a dead shard's replacement becomes this one and
 * skips the thread start and the imports, a few hundred ms (more when run from sources).
 */
export class SpareShard {
  readonly worker: Worker;
  /** Resolves once it stands by (or has ended). */
  readonly settled: Promise<void>;
  #alive = true;
  #standingBy = false;

  constructor(preload: readonly string[], options: ShardWorkerOptions) {
    this.worker = startShardWorker({ preload } satisfies SpareInit, 'sockshard-shard-spare', options);
    this.worker.on('error', () => {});
    this.settled = new Promise<void>((resolve) => {
      this.worker.once('message', () => {
        this.#standingBy = true;
        resolve();
      });
      this.worker.once('exit', () => {
        this.#alive = false;
        this.#standingBy = false;
        resolve();
      });
    });
  }

  get alive(): boolean {
    return this.#alive;
  }

  /** Started, its handler modules imported, waiting. */
  get standingBy(): boolean {
    return this.#standingBy;
  }

  async terminate(): Promise<void> {
    await this.worker.terminate();
  }
}

function startShardWorker(data: ShardInit | SpareInit, name: string, options: ShardWorkerOptions): Worker {
  const { resourceLimits } = options;
  return startWorker(SHARD_ENTRY, {
    workerData: data,
    name,
    ...(resourceLimits === undefined ? {} : { resourceLimits }),
  });
}

/** What a shard reports to the engine. */
export interface ShardEvents {
  handlerError(error: HandlerError): void;
  /** An engine fault in the shard that it survived (see the 'fault' message). */
  fault(error: SockshardError): void;
  exit(shard: ShardHandle, exitCode: number, expected: boolean): void;
}

/**
 * The coordinator's side of one shard: its worker, the producing end of its control ring (the handoff
 * path) and its counters. Threading: used on the coordinator thread only.
 */
export class ShardHandle implements Balanced {
  readonly id: number;
  readonly worker: Worker;
  readonly controlRing: SharedArrayBuffer;
  /** The rolling reload whose code this shard runs (0: the code the engine started with). */
  readonly generation: number;
  /** Resolves when the shard has loaded every handler; rejects if it cannot. */
  readonly ready: Promise<void>;
  /**
   * A reload's standby replacement (ShardInit.standby): resolves once it has loaded its handlers and set
   * its listeners up, before it touches any ring; rejects if it cannot. Otherwise the same as `ready`.
   */
  readonly prepared: Promise<void>;
  /** Resolves with the exit code once the worker has ended. */
  readonly exited: Promise<number>;
  alive = false;
  /** The shard reported that it cannot start (it is on its way out by itself). */
  startFailed = false;
  /** Connections written to the control ring. */
  handedOff = 0;
  /** How many times this shard has been restarted. */
  restarts: number;
  /** Of `restarts`, those the standing-by spare worker took (no cold start). */
  restartsFromSpare: number;
  /** The control ring's producing end; a reload's replacement takes over its predecessor's (see takeOver). */
  #producer: RingProducer;
  readonly #counters: Int32Array;
  /** This shard's slice of the per-address table. */
  readonly #addresses: Int32Array;
  readonly #maxConnections: number;
  readonly #waiters = new Set<Waiter>();
  /** Batched-UDP fds this shard adopted: no Node handle owns them (see #reclaimRawFds). */
  readonly #rawFds: number[] = [];
  #closing = false;
  /** Connections that died with this shard or an earlier incarnation of it (see `connectionsLost`). */
  #lost: number;
  /** The error that ended the worker, if one did (see `endedBy`). */
  #endedBy: unknown;
  /** The worker has ended (its 'exit' event). */
  #ended = false;
  /** `release()` has run: nothing is left for a next incarnation. */
  #released = false;

  /**
   * `previous`: the incarnation this one replaces after a crash. Its counters carry on (they live in shared
   * memory), its lost connections too; connections still waiting in the control ring are adopted by this
   * one. `spare`: a standing-by worker to become this shard.
   */
  constructor(
    init: ShardInit,
    events: ShardEvents,
    options: ShardWorkerOptions,
    previous?: ShardHandle,
    spare?: SpareShard,
  ) {
    this.id = init.shardId;
    this.generation = init.generation;
    this.handedOff = previous?.handedOff ?? 0;
    this.restarts = previous === undefined ? 0 : previous.restarts + 1;
    this.restartsFromSpare = (previous?.restartsFromSpare ?? 0) + (spare === undefined ? 0 : 1);
    this.#lost = previous?.connectionsLost ?? 0;
    this.controlRing = init.control;
    this.#producer = new RingProducer(init.control);
    this.#counters = new Int32Array(init.counters);
    this.#addresses = addressTableSlice(init.addresses, init.shardId);
    // The connections a dead incarnation held will never report their close: start its buckets afresh
    // (lenient for connections still waiting in the ring, rather than strict for ever).
    if (previous !== undefined) this.#addresses.fill(0);
    this.#maxConnections = options.maxConnections;
    if (spare === undefined) {
      this.worker = startShardWorker(init, `sockshard-shard-${init.shardId}`, options);
    } else {
      this.worker = spare.worker;
      this.worker.postMessage({ type: 'become', init } satisfies BecomeShard);
    }
    this.ready = this.waitFor((message) => {
      if (message.type === 'start-failed') throw reviveError(message.error, this.id);
      if (message.type !== 'ready') return undefined;
      this.alive = true;
      return true;
    }).then(
      () => undefined,
      (error: unknown) => {
        this.startFailed = true;
        throw error;
      },
    );
    this.prepared =
      init.standby === true
        ? this.waitFor((message) => {
            if (message.type === 'start-failed') throw reviveError(message.error, this.id);
            return message.type === 'prepared' ? true : undefined;
          }).then(() => undefined)
        : this.ready;
    this.worker.on('message', (message: ShardMessage) => {
      if (message.type === 'handler-error') {
        events.handlerError(new HandlerError(message.error, this.id, message.listenerId));
      } else if (message.type === 'fault') {
        events.fault(reviveError(message.error, this.id, { listenerId: message.listenerId }));
      }
      for (const waiter of this.#waiters) waiter.message(message);
    });
    this.exited = new Promise((resolve) => {
      this.worker.once('exit', (code) => {
        this.alive = false;
        this.#ended = true;
        // What it had adopted died with it, counted now (not at a restart, which may never come); what
        // still waits in the control ring goes to the next incarnation, or is closed by release().
        const ring = readRingStats(init.control);
        this.#lost += this.openConnections() - (ring.recordsIn - ring.recordsOut);
        this.#reclaimRawFds();
        for (const waiter of this.#waiters) waiter.exit(code);
        events.exit(this, code, this.#closing);
        resolve(code);
      });
    });
    // An error that ends the worker (out of memory, a failure of the shard's own code); 'exit' follows.
    this.worker.on('error', (error) => {
      this.#endedBy = error;
    });
  }

  /**
   * Resolves with the first message for which `match` returns a value (or rejects if it throws); rejects
   * with a ShardExitError if the worker ends first.
   */
  waitFor<T>(match: (message: ShardMessage) => T | undefined): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter = {
        message: (message) => {
          let value: T | undefined;
          try {
            value = match(message);
          } catch (error) {
            this.#waiters.delete(waiter);
            reject(error);
            return;
          }
          if (value === undefined) return;
          this.#waiters.delete(waiter);
          resolve(value);
        },
        exit: (exitCode) => {
          this.#waiters.delete(waiter);
          reject(new ShardExitError(this.id, exitCode));
        },
      };
      this.#waiters.add(waiter);
    });
  }

  /** The error that ended the worker, if one did (its 'error' event: out of memory, the shard's own failure). */
  get endedBy(): unknown {
    return this.#endedBy;
  }

  /**
   * Connections open on this shard when it died (this incarnation or an earlier one): the ones it had
   * adopted, which its worker's end closed, and, once it is released, those still waiting in its control
   * ring, which no incarnation will adopt.
   */
  get connectionsLost(): number {
    return this.#lost;
  }

  openConnections(): number {
    const closed = Atomics.load(this.#counters, counterIndex(this.id, COUNTER_CLOSED));
    const accepted = Atomics.load(this.#counters, counterIndex(this.id, COUNTER_ACCEPTED));
    return this.handedOff + accepted - closed - this.#lost;
  }

  /** Alive and under its connection cap: the balancer may pick it. */
  hasRoom(): boolean {
    return this.alive && (this.#maxConnections === 0 || this.openConnections() < this.#maxConnections);
  }

  /** Open connections from the client address bucket `bucket` on this shard. */
  fromAddress(bucket: number): number {
    return Atomics.load(this.#addresses, bucket);
  }

  counter(counter: number): number {
    return Atomics.load(this.#counters, counterIndex(this.id, counter));
  }

  /**
   * Stages the handoff of an accepted fd; `flush()` publishes the batch. False when the control ring is
   * full: the caller still owns the fd.
   */
  handoff(fd: number, listenerId: number, addressBucket: number): boolean {
    const offset = this.#producer.claim(HANDOFF_BYTES, RECORD_HANDOFF);
    if (offset < 0) return false;
    const word = offset >> 2;
    this.#producer.words[word + HANDOFF_FD] = fd;
    this.#producer.words[word + HANDOFF_LISTENER] = listenerId;
    this.#producer.words[word + HANDOFF_ADDRESS_BUCKET] = addressBucket;
    Atomics.add(this.#addresses, addressBucket, 1);
    this.handedOff++;
    return true;
  }

  /**
   * As `handoff`, for a connection whose PROXY header the coordinator read: the shard shows the client's
   * address and port as the socket's remote address.
   */
  handoffProxied(
    fd: number,
    listenerId: number,
    addressBucket: number,
    address: IpAddress,
    port: number,
  ): boolean {
    const offset = this.#producer.claim(HANDOFF_PROXIED_BYTES, RECORD_HANDOFF_PROXIED);
    if (offset < 0) return false;
    const out = this.#producer.words;
    const word = offset >> 2;
    out[word + HANDOFF_FD] = fd;
    out[word + HANDOFF_LISTENER] = listenerId;
    out[word + HANDOFF_ADDRESS_BUCKET] = addressBucket;
    out[word + HANDOFF_FAMILY] = address.family;
    out[word + HANDOFF_PORT] = port;
    for (let i = 0; i < address.words.length; i++) out[word + HANDOFF_ADDRESS + i] = address.words[i]!;
    Atomics.add(this.#addresses, addressBucket, 1);
    this.handedOff++;
    return true;
  }

  /**
   * Hands a bound UDP socket to the shard and resolves once it serves it; rejects with the shard's error
   * (it has closed the fd then). False-y capacity cannot happen here: this runs at start, on empty rings.
   */
  async handoffUdp(
    fd: number,
    listenerId: number,
    port: number,
    portIndex: number,
    io: 'dgram' | 'batched',
  ): Promise<void> {
    const bound = this.waitFor((message) => {
      if (message.type === 'udp-failed' && message.fd === fd)
        throw reviveError(message.error, this.id, { listenerId, port });
      return message.type === 'udp-bound' && message.fd === fd ? true : undefined;
    });
    const offset = this.#producer.claim(UDP_SOCKET_BYTES, RECORD_UDP_SOCKET);
    if (offset < 0) throw new ControlRingFullError(this.id, `UDP port ${port}`);
    const word = offset >> 2;
    this.#producer.words[word + UDP_SOCKET_FD] = fd;
    this.#producer.words[word + UDP_SOCKET_LISTENER] = listenerId;
    this.#producer.words[word + UDP_SOCKET_PORT] = port;
    this.#producer.words[word + UDP_SOCKET_PORT_INDEX] = portIndex;
    this.#producer.commit();
    await bound;
    if (io === 'batched') this.#rawFds.push(fd);
  }

  /**
   * balance 'kernel': hands the shard `fd`, a duplicate of one of the listener's listening sockets, to
   * accept on; resolves once it does. From the handoff on the fd is the shard's, even if it fails (it
   * closes it then and this rejects with its error).
   */
  async listenOn(fd: number, listenerId: number): Promise<void> {
    const offset = this.#producer.claim(LISTEN_SOCKET_BYTES, RECORD_LISTEN_SOCKET);
    if (offset < 0) {
      close(fd);
      throw new Error(`shard ${this.id}: control ring full while handing over a listening socket`);
    }
    const word = offset >> 2;
    this.#producer.words[word + LISTEN_SOCKET_FD] = fd;
    this.#producer.words[word + LISTEN_SOCKET_LISTENER] = listenerId;
    const listening = this.waitFor((message) => {
      if (message.type === 'listen-failed' && message.fd === fd)
        throw reviveError(message.error, this.id, { listenerId });
      return message.type === 'listening' && message.fd === fd ? true : undefined;
    });
    this.#producer.commit();
    await listening;
  }

  /**
   * A worker's teardown closes the fds its Node handles own (sockets, node:dgram), but not a raw fd that
   * only the native batched UDP path polls: when a shard dies without draining, its supervisor closes
   * those. (A draining shard closes them itself, so they are only reclaimed after a death.)
   */
  #reclaimRawFds(): void {
    const fds = this.#rawFds.splice(0);
    if (this.#closing) return;
    for (const fd of fds) {
      try {
        close(fd);
      } catch {}
    }
  }

  /**
   * Gives back what this shard still holds once its worker has ended and no incarnation will follow (it
   * died past its restart budget, or the engine is closing): the fds still waiting in its control ring
   * are closed (the coordinator takes the consumer's end, which the dead thread can no longer touch), and
   * every connection it had counted open is lost, so that its open count, its address buckets and the
   * engine's totals read zero for it. Without this, a dead shard's ring held its fds, and their clients
   * sat in CLOSE-WAIT, for the life of the process. Does nothing while the worker runs; idempotent.
   */
  release(): void {
    if (this.#released || !this.#ended) return;
    this.#released = true;
    const consumer = new RingConsumer(this.controlRing);
    // Every record type on this ring carries the fd the shard would have owned in the same word.
    consumer.drain((_bytes, offset) => {
      try {
        close(consumer.words[(offset >> 2) + CONTROL_RECORD_FD]!);
      } catch {}
    });
    this.#lost += this.openConnections();
    this.#addresses.fill(0);
  }

  /** handoff 'transfer': moves a socket Node accepted to the shard, by postMessage (Node 24+). */
  transfer(socket: Socket, listenerId: number, addressBucket: number): void {
    this.worker.postMessage(
      { type: 'adopt', listenerId, addressBucket, socket } satisfies CoordinatorMessage,
      [socket as unknown as TransferListItem],
    );
    this.handedOff++;
    Atomics.add(this.#addresses, addressBucket, 1);
  }

  /** Publishes staged handoffs and wakes the shard if it is parked (one notify per batch at most). */
  flush(): void {
    this.#producer.commit();
  }

  post(message: CoordinatorMessage): void {
    this.worker.postMessage(message);
  }

  /**
   * A rolling reload: asks this shard to stop taking work and drain, leaving its rings to a replacement
   * (see protocol.ts, 'retire'). It stays in the balancers until the replacement has taken over (what is
   * handed off meanwhile waits in the control ring for the replacement). `retired` resolves once it has
   * let go of the rings (or ended), `drained` once it has drained (or ended).
   */
  retire(timeoutMs: number): { retired: Promise<void>; drained: Promise<void> } {
    this.#closing = true;
    const settle = (promise: Promise<unknown>) =>
      promise.then(
        () => undefined,
        () => undefined,
      );
    const retired = settle(this.waitFor((message) => (message.type === 'retired' ? true : undefined)));
    const drained = settle(this.waitFor((message) => (message.type === 'drained' ? true : undefined)));
    this.post({ type: 'retire', timeoutMs });
    return { retired, drained };
  }

  /**
   * A reload's standby replacement takes over from `retired` (which has let go of the rings): it writes
   * through the same control-ring producer from now on (one producer per ring, whose cached indices stay
   * right), attaches to the rings and serves. Resolves once it serves; then it carries the shard's counts
   * on and `retired` leaves the balancers, so that the caller can put this one in its place at once.
   */
  async takeOver(retired: ShardHandle): Promise<void> {
    this.#producer = retired.#producer;
    this.post({ type: 'take-over' });
    await this.ready;
    this.handedOff = retired.handedOff;
    this.restarts = retired.restarts;
    this.restartsFromSpare = retired.restartsFromSpare;
    this.#lost = retired.#lost;
    retired.alive = false;
  }

  /** Asks the shard to drain; resolves when it has drained or ended (the caller bounds the wait). */
  drain(timeoutMs: number): Promise<void> {
    this.#closing = true;
    this.alive = false;
    const drained = this.waitFor((message) => (message.type === 'drained' ? true : undefined));
    this.post({ type: 'drain', timeoutMs });
    return drained.then(
      () => undefined,
      () => undefined,
    );
  }

  /**
   * Ends the worker now (after a failed start, or when a drain overran its deadline). `asked: false`
   * reports the end as a death (a restart that could not finish counts against the budget like any other).
   */
  async terminate(asked = true): Promise<void> {
    this.#closing = asked;
    this.alive = false;
    await this.worker.terminate();
  }
}
