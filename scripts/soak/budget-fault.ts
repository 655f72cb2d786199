/**
 * The soak's budget fault phase: a shard killed under load until it is past its restart budget (given up),
 * then checked for what it must give back. It runs an engine of its own (2 shards, one restart per minute,
 * the soak's HTTP app under autocannon) and returns what it saw and the problems it found:
 * - the other shard serves on (state `degraded`) and answers;
 * - the given-up shard holds nothing: no open connection counted, an empty control ring, no fd of this
 *   process holding a connection of the port, no socket left in CLOSE-WAIT (issue 11: before, every fd
 *   still in a dead shard's ring stayed open for good);
 * - the counters add up (handed off = closed + lost, nothing left open);
 * - after close, this process holds as many fds as before the phase.
 */
import { readdirSync } from 'node:fs';
import autocannon from 'autocannon';
import { createEngine } from '../../src/index.js';
import { connectionFdsOn, TCP_CLOSE_WAIT, tcpSocketsOn } from '../../test/helpers/proc-net.js';

const LOAD_SECONDS = 4;
const LOAD_CONNECTIONS = 20;
const KILL_INTERVAL_MS = 700;
/** /exit requests before giving up on reaching the budget (each kills whichever shard serves it). */
const MAX_KILLS = 12;

export interface BudgetFaultResult {
  readonly summary: Record<string, unknown>;
  readonly problems: readonly string[];
}

const openFds = () => readdirSync('/proc/self/fd').length;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `condition` every 20 ms for up to `ms`; resolves with whether it held. */
async function within(ms: number, condition: () => boolean): Promise<boolean> {
  for (const deadline = performance.now() + ms; performance.now() < deadline; await sleep(20))
    if (condition()) return true;
  return condition();
}

export async function spendShardBudget(): Promise<BudgetFaultResult> {
  const fdsBefore = openFds();
  const engine = createEngine({ shards: 2, restart: { maxRestarts: 1, windowMs: 60_000 } }).http({
    port: 0,
    handler: new URL('./http-app.ts', import.meta.url),
  });
  const errors: Record<string, number> = {};
  engine.on('error', (error) => {
    errors[error.code] = (errors[error.code] ?? 0) + 1;
  });
  engine.on('handler-error', () => {});
  let failed = false;
  // Both shards past their budget would end the engine, and by default this process: say so instead.
  engine.on('failed', () => {
    failed = true;
  });
  await engine.start();
  const port = engine.addresses()[0]!.port;
  const base = `http://127.0.0.1:${port}`;
  const load = new Promise<autocannon.Result>((resolve, reject) => {
    autocannon(
      { url: `${base}/`, connections: 20, duration: LOAD_SECONDS, workers: 1, timeout: 2 },
      (error, result) => (error === null ? resolve(result) : reject(error)),
    );
  });
  const givenUp = () => engine.stats().shards.find((shard) => shard.state === 'given-up');
  // Kill only once the load's connections are open on both shards, so that deaths cost connections.
  await within(5_000, () => engine.stats().total.connections >= LOAD_CONNECTIONS);
  let kills = 0;
  while (givenUp() === undefined && kills < MAX_KILLS && !failed) {
    kills++;
    await fetch(`${base}/exit`, { headers: { connection: 'close' } }).catch(() => {});
    // As in the run: a kill every 0.7 s, while the load's clients reconnect.
    await sleep(KILL_INTERVAL_MS);
  }
  const loadResult = await load;
  const dead = givenUp();
  const problems: string[] = [];
  if (dead === undefined) problems.push(`no shard went past its budget in ${kills} kills`);
  if (failed || engine.state !== 'degraded')
    problems.push(`engine ${engine.state} after one shard was given up (expected degraded)`);
  const answered = await fetch(`${base}/`, { headers: { connection: 'close' } }).then(
    (response) => response.status,
    () => 0,
  );
  if (answered !== 200) problems.push(`the serving shard answered ${answered}`);
  // Once the load's connections have closed, nothing of the port may be held or stuck.
  const settled = await within(5_000, () => engine.stats().total.connections === 0);
  if (!settled) problems.push(`${engine.stats().total.connections} connections still counted open`);
  await within(2_000, () => connectionFdsOn(port) === 0);
  const held = connectionFdsOn(port);
  if (held > 0) problems.push(`${held} fds still hold connections of the port`);
  const closeWait = tcpSocketsOn(port).filter((socket) => socket.state === TCP_CLOSE_WAIT).length;
  if (closeWait > 0) problems.push(`${closeWait} sockets of the port in CLOSE-WAIT`);
  const stats = engine.stats();
  const shard = dead === undefined ? undefined : stats.shards[dead.shardId]!;
  const ringPending = shard === undefined ? 0 : shard.controlRing.recordsIn - shard.controlRing.recordsOut;
  if (shard !== undefined && (shard.connections !== 0 || ringPending !== 0))
    problems.push(`the given-up shard still counts ${shard.connections} open, ${ringPending} in its ring`);
  const { total } = stats;
  if (total.handedOff !== total.closed + total.connectionsLost + total.connections)
    problems.push(
      `counters do not add up: handed off ${total.handedOff}, closed ${total.closed}, lost ${total.connectionsLost}, open ${total.connections}`,
    );
  await engine.close({ timeoutMs: 2_000 });
  await within(2_000, () => openFds() <= fdsBefore);
  const fdsAfter = openFds();
  if (fdsAfter > fdsBefore) problems.push(`fds leaked: ${fdsBefore} before the phase, ${fdsAfter} after`);
  return {
    summary: {
      kills,
      givenUp: dead?.shardId,
      state: stats.state,
      autocannon2xx: loadResult['2xx'],
      handedOff: total.handedOff,
      adopted: total.adopted,
      closed: total.closed,
      connectionsLost: total.connectionsLost,
      engineErrors: errors,
      fds: { before: fdsBefore, after: fdsAfter },
    },
    problems,
  };
}
