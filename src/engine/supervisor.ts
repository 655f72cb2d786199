import { setTimeout as delay } from 'node:timers/promises';
import { ShardExitError, ShardRestartBudgetError, type SockshardError } from '../errors.js';
import type { RestartPolicy } from './options.js';
import { EXIT_GRACE_MS, type ShardHandle, type ShardWorkerOptions, SpareShard } from './shard-handle.js';

/** What the supervisor needs from its engine. */
export interface SupervisedEngine {
  /** Whether the engine serves (restarts and spares happen only then). */
  running(): boolean;
  /**
   * Starts the next incarnation of the dead shard (from `spare` when given) and brings it back into
   * service; rejects if it cannot (having ended it).
   */
  respawn(dead: ShardHandle, spare: SpareShard | undefined): Promise<void>;
  /** The handler modules a spare imports ahead of need. */
  preload(): readonly string[];
  readonly workerOptions: ShardWorkerOptions;
  report(error: SockshardError): void;
}

/**
 * Shard supervision, on the coordinator: restarts a shard that died, within a budget, and keeps a spare
 * worker standing by to become the next one.
 *
 * A dead shard is out of the balancers at once (it is not alive); the others are untouched. It is
 * restarted at once the first time in a window, then after a back-off that doubles with each recent
 * restart (`backoffMs` up to `maxBackoffMs`), within `maxRestarts` per `windowMs`; past the budget the
 * supervisor reports ShardRestartBudgetError and leaves the shard down. With `spare`, a worker that has
 * already started and imported the handler modules stands by, so a replacement only has to be told which
 * shard it is.
 */
export class Supervisor {
  readonly #policy: false | Required<RestartPolicy>;
  readonly #engine: SupervisedEngine;
  /** Per shard id: when its recent restarts happened (performance.now()). */
  readonly #restartTimes: number[][] = [];
  readonly #timers = new Set<NodeJS.Timeout>();
  #spare: SpareShard | undefined;

  constructor(policy: false | Required<RestartPolicy>, engine: SupervisedEngine) {
    this.#policy = policy;
    this.#engine = engine;
  }

  /** A spare worker has started, imported the handler modules and waits to become a shard. */
  get spareStandingBy(): boolean {
    return this.#spare?.standingBy === true;
  }

  /** A shard's worker ended when it was not asked to. */
  shardDied(shard: ShardHandle, exitCode: number): void {
    this.#engine.report(new ShardExitError(shard.id, exitCode));
    const policy = this.#policy;
    if (policy === false) return;
    const now = performance.now();
    const recent = (this.#restartTimes[shard.id] ?? []).filter((time) => now - time < policy.windowMs);
    if (recent.length >= policy.maxRestarts) {
      this.#engine.report(new ShardRestartBudgetError(shard.id, policy.maxRestarts, policy.windowMs));
      return;
    }
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

  async #restart(dead: ShardHandle): Promise<void> {
    if (!this.#engine.running()) return;
    const spare = this.#spare?.alive === true ? this.#spare : undefined;
    this.#spare = undefined;
    try {
      await this.#engine.respawn(dead, spare);
    } catch (error) {
      // It died again while starting: its exit comes back through shardDied (and the budget) like any other.
      if (!(error instanceof ShardExitError)) this.#engine.report(error as SockshardError);
    }
    this.startSpare();
  }

  /** Starts a spare shard worker, if the policy wants one and none stands by. */
  startSpare(): void {
    const policy = this.#policy;
    if (!this.#engine.running() || policy === false || !policy.spare || this.#spare?.alive === true) return;
    this.#spare = new SpareShard(this.#engine.preload(), this.#engine.workerOptions);
  }

  /**
   * Cancels the restarts that wait for their back-off (at once) and ends the spare, once it has finished
   * loading (cutting a thread off mid-import can leak a loader's fd).
   */
  async close(): Promise<void> {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    const spare = this.#spare;
    this.#spare = undefined;
    if (spare === undefined) return;
    await Promise.race([spare.settled, delay(EXIT_GRACE_MS, undefined, { ref: false })]);
    await spare.terminate();
  }
}
