/**
 * The shard side of the engine-path ICMP bench, as a TCP handler: one JSON line
 * `{ targets: string[], count, intervalMs, window, timeoutMs }` in, the shard pings every target with its
 * own tracker (through ring → coordinator → raw socket and back), one JSON line of figures out.
 */
import { createInterface } from 'node:readline';
import { defineTcpHandler } from '../../src/index.js';

interface Job {
  readonly targets: readonly string[];
  readonly count: number;
  readonly intervalMs: number;
  readonly window: number;
  readonly timeoutMs: number;
}

export default defineTcpHandler({
  connection(socket, context) {
    socket.write(`${context.shardId}\n`);
    createInterface({ input: socket }).on('line', async (line) => {
      const job = JSON.parse(line) as Job;
      const rtts: number[] = [];
      const started = performance.now();
      const results = await Promise.all(
        job.targets.map((target) =>
          context.ping(target, {
            count: job.count,
            intervalMs: job.intervalMs,
            maxInFlight: job.window,
            timeoutMs: job.timeoutMs,
            onProbe: (outcome) => {
              if (outcome.status === 'reply') rtts.push(outcome.rttMs);
            },
          }),
        ),
      );
      const elapsedMs = performance.now() - started;
      const sent = results.reduce((sum, result) => sum + result.transmitted, 0);
      const received = results.reduce((sum, result) => sum + result.received, 0);
      socket.write(`${JSON.stringify({ elapsedMs, sent, received, rtts })}\n`);
    });
  },
});
