/**
 * The shard side of bench/icmp.ts's engine path, as a TCP handler: greets with its shard id, then for each
 * JSON line `{ targets, count, intervalMs, window, timeoutMs }` pings every target with `context.ping`
 * (ring → coordinator → raw socket and back) and answers one JSON line: seconds, probes sent, every RTT.
 */
import { createInterface } from 'node:readline';
import { defineTcpHandler } from '../../src/index.js';
import { registerThread } from '../lib/cpu.js';
import type { Workload } from './echo.js';

export default defineTcpHandler({
  setup(context) {
    registerThread(`shard${context.shardId}`);
  },
  connection(socket, context) {
    socket.write(`${context.shardId}\n`);
    createInterface({ input: socket }).on('line', async (line) => {
      const job = JSON.parse(line) as Omit<Workload, 'targets'> & { targets: string[]; timeoutMs: number };
      const rtts: number[] = [];
      const started = performance.now();
      const results = await Promise.all(
        job.targets.map((target) =>
          context.ping(target, {
            count: job.count,
            intervalMs: job.intervalMs,
            maxInFlight: job.window,
            timeoutMs: job.timeoutMs,
            onProbe: (outcome) => outcome.status === 'reply' && rtts.push(outcome.rttMs),
          }),
        ),
      );
      const sent = results.reduce((sum, result) => sum + result.transmitted, 0);
      socket.write(`${JSON.stringify({ seconds: (performance.now() - started) / 1000, sent, rtts })}\n`);
    });
  },
});
