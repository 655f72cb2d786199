/**
 * sockshard's two echo paths, in this process: the raw socket alone (the coordinator's IcmpSocket, its
 * demultiplexer and a ping tracker, all on the main thread, no rings: the floor), and the full engine path
 * (a shard pings through its ring to the coordinator's raw socket and back; targets split over the shards,
 * each pinging its share as a user's handler would). CPU by thread: the main thread (the coordinator), each
 * shard (registered by engine-pinger.ts), and V8's helpers as 'other'.
 */
import { rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { IcmpSocket } from '../../src/engine/icmp-socket.js';
import {
  formatIpv4,
  IcmpDemux,
  PingTracker,
  parseIpv4,
  systemClock,
  writeEchoRequest,
} from '../../src/icmp/index.js';
import { createEngine } from '../../src/index.js';
import { CpuMeter, serverRoles, THREADS_ENV } from '../lib/cpu.js';
import { startEngine } from '../lib/engine.js';
import { Latencies } from '../lib/latency.js';

export interface Workload {
  /** Targets 127.0.0.1, 127.0.0.2, ... */
  readonly targets: number;
  /** Probes per target. */
  readonly count: number;
  /** Per-target period, ms (0: the next probe as soon as the window allows). */
  readonly intervalMs: number;
  /** Probes in flight per target (ping's -l). */
  readonly window: number;
}

export interface Echo {
  readonly sent: number;
  readonly received: number;
  readonly seconds: number;
  readonly latency: Latencies | null;
  /** ping -f prints an average only. */
  readonly avgMs: number | null;
  /** CPU seconds by thread role. */
  readonly cpu: Readonly<Record<string, number>>;
}

const TIMEOUT_MS = 1_000;
const targets = (w: Workload) =>
  Array.from({ length: w.targets }, (_, i) => formatIpv4(parseIpv4('127.0.0.1') + i));

export async function rawSocketEcho(workload: Workload): Promise<Echo> {
  const icmp = IcmpSocket.open({ receiveBufferSize: 4 << 20 });
  const meter = new CpuMeter([process.pid], serverRoles([process.pid], 'main'));
  try {
    const demux = new IcmpDemux({ shards: 1, identifierSpan: 65_536, udpPortOwner: () => -1 });
    const scratch = new Uint8Array(256);
    const tracker = new PingTracker({
      identifierStart: 0,
      identifierEnd: 65_536,
      send: (probe) => {
        icmp.sendNow(scratch, 0, writeEchoRequest(scratch, 0, probe), probe.target);
        return true;
      },
    });
    icmp.onPacket((packet) => {
      const route = demux.dispatch(packet);
      if (route.ok) tracker.handle(route.packet, systemClock.now());
    });
    const latency = new Latencies();
    meter.start();
    const started = performance.now();
    const results = await Promise.all(
      targets(workload).map((target) =>
        tracker.ping(target, {
          count: workload.count,
          intervalMs: workload.intervalMs,
          maxInFlight: workload.window,
          timeoutMs: TIMEOUT_MS,
          onProbe: (outcome) => outcome.status === 'reply' && latency.recordMs(outcome.rttMs),
        }),
      ),
    );
    const seconds = (performance.now() - started) / 1000;
    const cpu = meter.stop().byRole;
    tracker.close();
    const sent = results.reduce((sum, r) => sum + r.transmitted, 0);
    return { sent, received: latency.count, seconds, latency, avgMs: null, cpu };
  } finally {
    icmp.close();
  }
}

export async function engineEcho(workload: Workload): Promise<Echo> {
  const shards = os.availableParallelism();
  const threads = join(os.tmpdir(), `sockshard-bench-threads-${process.pid}-icmp-${performance.now()}`);
  process.env[THREADS_ENV] = threads;
  const engine = createEngine({ shards })
    .tcp({ port: 0, handler: new URL('./engine-pinger.ts', import.meta.url), balance: 'round-robin' })
    .icmp({ receiveBufferSize: 4 << 20 });
  await startEngine(engine);
  try {
    const port = engine.addresses()[0]!.port;
    // One control connection per shard (round-robin): each gets its share of the targets as one JSON line.
    const sessions = await Promise.all(
      Array.from({ length: shards }, async () => {
        const socket = net.connect(port, '127.0.0.1');
        const lines = createInterface({ input: socket })[Symbol.asyncIterator]();
        await lines.next(); // the shard's greeting
        return { socket, lines };
      }),
    );
    const all = targets(workload);
    const meter = new CpuMeter([process.pid], serverRoles([process.pid], 'coordinator', threads));
    meter.start();
    const figures = await Promise.all(
      sessions.flatMap(({ socket, lines }, i) => {
        const mine = all.filter((_, t) => t % shards === i);
        if (mine.length === 0) return [];
        socket.write(`${JSON.stringify({ ...workload, targets: mine, timeoutMs: TIMEOUT_MS })}\n`);
        return [
          lines
            .next()
            .then(
              (line) => JSON.parse(line.value as string) as { seconds: number; sent: number; rtts: number[] },
            ),
        ];
      }),
    );
    const cpu = meter.stop().byRole;
    for (const { socket } of sessions) socket.destroy();
    const latency = new Latencies();
    for (const f of figures) for (const rtt of f.rtts) latency.recordMs(rtt);
    const sent = figures.reduce((sum, f) => sum + f.sent, 0);
    return {
      sent,
      received: latency.count,
      seconds: Math.max(...figures.map((f) => f.seconds)),
      latency,
      avgMs: null,
      cpu,
    };
  } finally {
    await engine.close({ timeoutMs: 500 });
    rmSync(threads, { force: true });
  }
}
