/**
 * >>> FULL ENGINE PATH: NOT YET WIRED. <<<
 *
 * To be filled in once the engine runs ICMP (engine.icmp(...) and ctx.ping): echo round trips that go
 * shard → ring → coordinator → raw socket → kernel → raw socket → coordinator (demux) → ring → shard, with
 * the tracker in a shard, for the same workload as rawSocketEcho. Until then it returns null: the bench
 * prints the row as "not yet wired" and leaves it out of every ratio, rather than pretend.
 */
import type { EchoOutcome } from './figures.js';
import type { EchoWorkload } from './raw-socket-echo.js';

export async function engineEcho(_workload: EchoWorkload): Promise<EchoOutcome | null> {
  return null;
}
