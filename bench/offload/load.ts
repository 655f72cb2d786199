/**
 * The offload benchmark's load generator, in its own process: `load.ts '{"port":N,"connections":32,
 * "seconds":10,"warmupSeconds":1}'`. Keep-alive connections in a closed loop, every 10th request of each
 * heavy; the same load warms up first, then `{"phase":"measure"}`, then one line of results.
 */
import http from 'node:http';
import { Latencies } from '../lib/latency.js';

const job = JSON.parse(process.argv[2]!) as {
  port: number;
  connections: number;
  seconds: number;
  warmupSeconds: number;
};
const agent = new http.Agent({ keepAlive: true, maxSockets: job.connections });

function request(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port: job.port, path, agent }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode === 200));
    });
    req.once('error', () => resolve(false));
  });
}

async function run(seconds: number) {
  const light = new Latencies();
  const heavy = new Latencies();
  let errors = 0;
  const deadline = performance.now() + seconds * 1000;
  const loop = async (offset: number) => {
    for (let i = offset; performance.now() < deadline; i++) {
      const isHeavy = i % 10 === 0;
      const started = performance.now();
      if (!(await request(isHeavy ? '/heavy' : '/light'))) errors++;
      (isHeavy ? heavy : light).recordMs(performance.now() - started);
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: job.connections }, (_, c) => loop(c)));
  return { light, heavy, errors, seconds: (performance.now() - started) / 1000 };
}

await run(job.warmupSeconds);
console.log(JSON.stringify({ phase: 'measure' }));
const cpu = process.cpuUsage();
const { light, heavy, errors, seconds } = await run(job.seconds);
const used = process.cpuUsage(cpu);
agent.destroy();
const l = light.summaryMs()!;
const h = heavy.summaryMs()!;
console.log(
  JSON.stringify({
    requests: l.count + h.count,
    seconds,
    errors,
    lightP50: l.p50,
    lightP99: l.p99,
    heavyP99: h.p99,
    cpuSeconds: (used.user + used.system) / 1e6,
  }),
);
