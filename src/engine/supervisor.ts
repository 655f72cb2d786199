import { setTimeout as delay } from 'node:timers/promises';
import {
  EngineFailedError,
  ShardExitError,
  ShardRestartBudgetError,
  type SockshardError,
} from '../errors.js';
import type { RestartPolicy } from './options.js';
import { EXIT_GRACE_MS, type ShardHandle, type ShardWorkerOptions, SpareShard } from './shard-handle.js';

/**
 * A shard as supervision sees it (`engine.stats().shards[i].state`):
 * - `starting`: the engine is starting it (before `start()` resolves);
 * - `serving`: its worker runs and takes connections;
 * - `restarting`: its worker died; the restart waits for its back-off or is under way (no connections);
 * - `given-up`: it died past its restart budget (or with `restart: false`) and stays down: what it held is
 *   released and its UDP ports have moved to a live shard;
 * - `stopped`: the engine has closed.
 */
export type ShardState = 'starting' | 'serving' | 'restarting' | 'given-up' | 'stopped';

/**
 * The engine as supervision sees it (`engine.state`, `engine.stats().state`):
 * - `idle`, `starting`: before `start()` resolves;
 * - `serving`: every shard serves;
 * - `degraded`: some shard is restarting or given up, but the engine still has a shard that serves or
 *   will (new connections go to the serving ones; with none serving for a moment, they are dropped);
 * - `failed`: every shard was given up: the engine released every port and closed (see the `failed`
 *   event);
 * - `closing`, `closed`: after `close()` (a failed engine stays `failed`).
 */
export type EngineState = 'idle' | 'starting' | 'serving' | 'degraded' | 'failed' | 'closing' | 'closed';

/** What the supervisor needs from its engine. */
export interface SupervisedEngine {
  /** Whether the engine serves (restarts and spares happen only then). */
  running(): boolean;
  /**
   * Starts the next incarnation of the dead shard (from `spare` when given) and brings it back into
   * service; rejects if it cannot (having ended it, which reports as a death of its own).
   */
  respawn(dead: ShardHandle, spare: SpareShard | undefined): Promise<void>;
  /**
   * The dead shard stays down while others serve on: release what it held (its control ring) and move
   * its UDP ports to shards that serve.
   */
  giveUp(dead: ShardHandle): void;
  /** Every shard was given up: release every port, end, emit the failure. */
  fail(error: EngineFailedError): void;
  /** The handler modules a spare imports ahead of need. */
  preload(): readonly string[];
  readonly workerOptions: ShardWorkerOptions;
  report(error: SockshardError): void;
}

/**
 * Shard supervision, on the coordinator: restarts a shard that died, within a budget, keeps a spare
 * worker standing by to become the next one, and decides what happens past the budget. The states it
 * keeps (`ShardState` per shard, the engine's `EngineState`) are what `stats()` and a health check read.
 *
 * A dead shard is out of the balancers at once (it is not alive); the others are untouched. It is
 * restarted at once the first time in a window, then after a back-off that doubles with each recent
 * restart (`backoffMs` up to `maxBackoffMs`), within `maxRestarts` per `windowMs`. With `spare`, a worker
 * that has already started and imported the handler modules stands by, so a replacement only has to be
 * told which shard it is.
 *
 * Past the budget (and at every death with `restart: false`), in one place, `#giveUp`: the shard is
 * `given-up`, the engine releases what it held and moves its UDP ports to a live shard, and reports
 * ShardRestartBudgetError; the other shards serve on. When the last shard is given up, nothing is left to
 * serve: the spare is ended (it counts toward nothing), and the engine fails (EngineFailedError): it
 * releases every port and closes, so that a process supervisor can start it afresh.
 */
export class Supervisor {
  readonly #policy: false | Required<RestartPolicy>;
  readonly #engine: SupervisedEngine;
  /** Per shard id: when its recent restarts happened (performance.now()). */
  readonly #restartTimes: number[][] = [];
  readonly #states: ShardState[];
  readonly #timers = new Set<NodeJS.Timeout>();
  #spare: SpareShard | undefined;

  constructor(policy: false | Required<RestartPolicy>, shards: number, engine: SupervisedEngine) {
    this.#policy = policy;
    this.#engine = engine;
    this.#states = Array.from({ length: shards }, () => 'starting');
  }

  /** A spare worker has started, imported the handler modules and waits to become a shard. */
  get spareStandingBy(): boolean {
    return this.#spare?.standingBy === true;
  }

  shardState(shardId: number): ShardState {
    return this.#states[shardId]!;
  }

  /** `serving` or `degraded` while the engine runs (see EngineState). */
  health(): 'serving' | 'degraded' {
    return this.#states.every((state) => state === 'serving') ? 'serving' : 'degraded';
  }

  /** The shard serves (started, or back from a restart). */
  shardOnline(shardId: number): void {
    this.#states[shardId] = 'serving';
  }

  /** A shard's worker ended when it was not asked to. */
  shardDied(shard: ShardHandle, exitCode: number): void {
    this.#engine.report(new ShardExitError(shard.id, exitCode, shard.endedBy));
    const policy = this.#policy;
    if (policy === false) {
      this.#giveUp(shard, undefined);
      return;
    }
    const now = performance.now();
    const recent = (this.#restartTimes[shard.id] ?? []).filter((time) => now - time < policy.windowMs);
    if (recent.length >= policy.maxRestarts) {
      this.#giveUp(shard, new ShardRestartBudgetError(shard.id, policy.maxRestarts, policy.windowMs));
      return;
    }
    this.#states[shard.id] = 'restarting';
    recent.push(now);
    this.#restartTimes[shard.id] = recent;
    const backoff =
      recent.length === 1 ? 0 : Math.min(policy.maxBackoffMs, policy.backoffMs * 2 ** (recent.length - 2));
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      void this.#restart(shard);
    }, backoff);
    this.#timers.add(timer);
  }

  /**
   * The one place for what happens past the budget (`budget` absent: `restart: false`). See the class
   * comment.
   */
  #giveUp(dead: ShardHandle, budget: ShardRestartBudgetError | undefined): void {
    this.#states[dead.id] = 'given-up';
    this.#engine.giveUp(dead);
    if (budget !== undefined) this.#engine.report(budget);
    if (this.#states.some((state) => state !== 'given-up')) return;
    // The engine's close ends the spare (see close()), and it stands by for nothing from here.
    this.#engine.fail(new EngineFailedError(this.#states.length, budget));
  }

  async #restart(dead: ShardHandle): Promise<void> {
    if (!this.#engine.running()) return;
    const spare = this.#spare?.alive === true ? this.#spare : undefined;
    this.#spare = undefined;
    try {
      await this.#engine.respawn(dead, spare);
    } catch (error) {
      // Its end comes back through shardDied (and the budget) like any other death.
      if (!(error instanceof ShardExitError)) this.#engine.report(error as SockshardError);
    }
    this.startSpare();
  }

  /** Starts a spare shard worker, if the policy wants one, a restart could use it, and none stands by. */
  startSpare(): void {
    const policy = this.#policy;
    if (!this.#engine.running() || policy === false || !policy.spare || policy.maxRestarts === 0) return;
    if (this.#spare?.alive === true) return;
    this.#spare = new SpareShard(this.#engine.preload(), this.#engine.workerOptions);
  }

  /**
   * Cancels the restarts that wait for their back-off (at once) and ends the spare, once it has finished
   * loading (cutting a thread off mid-import can leak a loader's fd). Every shard not given up is
   * `stopped` from here.
   */
  async close(): Promise<void> {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    for (const [shardId, state] of this.#states.entries())
      if (state !== 'given-up') this.#states[shardId] = 'stopped';
    await this.dropSpare();
  }

  /**
   * Ends the spare (a rolling reload: it imported the code being replaced; a shard that dies during the
   * reload restarts cold, importing what its init names). `startSpare()` starts the next one.
   */
  async dropSpare(): Promise<void> {
    const spare = this.#spare;
    this.#spare = undefined;
    if (spare === undefined) return;
    await Promise.race([spare.settled, delay(EXIT_GRACE_MS, undefined, { ref: false })]);
    await spare.terminate();
  }
}
