/**
 * The full engine path: echo round trips that go shard → ring → coordinator → raw socket → kernel → raw
 * socket → coordinator (demux) → ring → shard, with each shard's tracker, for the same workloads as
 * rawSocketEcho. The targets are split over the shards (each pings its share at once, as a user's
 * handlers would); the rate is all replies over the longest shard's time.
 */
import net from 'node:net';
import os from 'node:os';
import { createInterface } from 'node:readline';
import { formatIpv4, parseIpv4 } from '../../src/icmp/index.js';
import { createEngine, IcmpPermissionError } from '../../src/index.js';
import { spareStandingBy } from '../lib/engine.js';
import { type EchoOutcome, quantiles } from './figures.js';
import type { EchoWorkload } from './raw-socket-echo.js';

const TIMEOUT_MS = 1_000;

interface ShardFigures {
  readonly elapsedMs: number;
  readonly sent: number;
  readonly received: number;
  readonly rtts: number[];
}

async function control(port: number) {
  const socket = net.connect(port, '127.0.0.1');
  const lines = createInterface({ input: socket })[Symbol.asyncIterator]();
  const shard = Number((await lines.next()).value);
  return {
    socket,
    shard,
    async run(job: object): Promise<ShardFigures> {
      socket.write(`${JSON.stringify(job)}\n`);
      return JSON.parse((await lines.next()).value as string) as ShardFigures;
    },
  };
}

export async function engineEcho(workload: EchoWorkload): Promise<EchoOutcome> {
  const shards = os.availableParallelism();
  const engine = createEngine({ shards })
    .tcp({ port: 0, handler: new URL('./engine-pinger.ts', import.meta.url), balance: 'round-robin' })
    .icmp({ receiveBufferSize: 4 << 20 });
  try {
    await engine.start();
  } catch (error) {
    if (error instanceof IcmpPermissionError) return { skipped: 'needs root or CAP_NET_RAW' };
    throw error;
  }
  await spareStandingBy(engine);
  try {
    const port = engine.addresses()[0]!.port;
    const sessions = await Promise.all(Array.from({ length: shards }, () => control(port)));
    const base = parseIpv4('127.0.0.1');
    const targets = Array.from({ length: workload.targets }, (_, i) => formatIpv4(base + i));
    // One target: one shard pings it (a window per target, as ping -l). Many: each shard takes a share.
    const jobs = sessions.map((session, i) => ({
      session,
      targets: targets.filter((_, t) => t % sessions.length === i),
    }));
    const figures = await Promise.all(
      jobs
        .filter((job) => job.targets.length > 0)
        .map((job) =>
          job.session.run({
            targets: job.targets,
            count: workload.count,
            intervalMs: workload.intervalMs,
            window: workload.window,
            timeoutMs: TIMEOUT_MS,
          }),
        ),
    );
    for (const session of sessions) session.socket.destroy();
    const sent = figures.reduce((sum, f) => sum + f.sent, 0);
    const received = figures.reduce((sum, f) => sum + f.received, 0);
    const elapsedMs = Math.max(...figures.map((f) => f.elapsedMs));
    return {
      roundTripsPerSecond: received / (elapsedMs / 1_000),
      sent,
      received,
      lossPercent: ((sent - received) * 100) / sent,
      ...quantiles(figures.flatMap((f) => f.rtts)),
    };
  } finally {
    await engine.close({ timeoutMs: 500 });
  }
}
