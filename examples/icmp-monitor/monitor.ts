/**
 * Runs in every shard, as the HTTP listener's handler. Each shard pings its share of the hosts (host i
 * goes to shard i % shards) every `interval` ms through the engine's ICMP, and sends each result to the
 * other shards over the ring mesh, so that whichever shard answers `GET /` has the whole table.
 * Settings come in the module URL's query: `monitor.ts?hosts=127.0.0.1,127.0.0.2&interval=1000`.
 */
import { defineHttpHandler, type ShardContext } from '../../src/index.js'; // in your project: 'sockshard'

const query = new URL(import.meta.url).searchParams;
const hosts = (query.get('hosts') ?? '127.0.0.1').split(',').filter(Boolean);
const intervalMs = Number(query.get('interval') ?? 1_000);
const PROBES = 3;

export interface HostStatus {
  readonly host: string;
  readonly shard: number;
  readonly at: string;
  readonly transmitted: number;
  readonly received: number;
  readonly lossPercent: number;
  readonly avgMs: number | null;
  readonly error?: string;
}

const table = new Map<string, HostStatus>();
const encoder = new TextEncoder();
const decoder = new TextDecoder();

async function round(context: ShardContext, mine: readonly string[]): Promise<void> {
  for (const host of mine) {
    let status: HostStatus;
    try {
      const result = await context.ping(host, { count: PROBES, intervalMs: 10, timeoutMs: 1_000 });
      status = {
        host,
        shard: context.shardId,
        at: new Date().toISOString(),
        transmitted: result.transmitted,
        received: result.received,
        lossPercent: result.lossPercent,
        avgMs: result.rtt?.avgMs ?? null,
      };
    } catch (error) {
      status = {
        host,
        shard: context.shardId,
        at: new Date().toISOString(),
        transmitted: 0,
        received: 0,
        lossPercent: 100,
        avgMs: null,
        error: (error as { code?: string }).code ?? String(error),
      };
    }
    table.set(host, status);
    const message = encoder.encode(JSON.stringify(status));
    for (let shard = 0; shard < context.shards; shard++) {
      // A full ring only delays this host's news until the next round: no need to retry.
      if (shard !== context.shardId) context.sendToShard(shard, message);
    }
  }
}

export default defineHttpHandler({
  setup(context) {
    const mine = hosts.filter((_, i) => i % context.shards === context.shardId);
    if (mine.length === 0) return;
    let busy = false;
    const tick = async () => {
      if (busy) return;
      busy = true;
      await round(context, mine).finally(() => {
        busy = false;
      });
    };
    void tick();
    // Unref'd: the monitor must not keep a draining shard alive.
    setInterval(tick, intervalMs).unref();
  },
  shardMessage(data) {
    const status = JSON.parse(decoder.decode(data)) as HostStatus;
    table.set(status.host, status);
  },
  request(_request, response, context) {
    const rows = hosts.map((host) => table.get(host) ?? { host, pending: true });
    response.setHeader('content-type', 'application/json');
    response.end(`${JSON.stringify({ servedBy: context.shardId, hosts: rows }, null, 2)}\n`);
  },
});
