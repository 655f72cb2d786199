/**
 * The load generator, in its own process: CONNECTIONS keep-alive connections in a closed loop, every
 * 10th request of each connection heavy (10%), for SECONDS; prints the light and heavy latencies (ms).
 *   load.ts PORT CONNECTIONS SECONDS
 */
import http from 'node:http';

const [port, connections, seconds] = process.argv.slice(2).map(Number) as [number, number, number];
const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
const light: number[] = [];
const heavy: number[] = [];
let errors = 0;

function request(path: string): Promise<void> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent }, (res) => {
      res.resume();
      res.once('end', resolve);
    });
    req.once('error', () => {
      errors++;
      resolve();
    });
  });
}

const deadline = performance.now() + seconds * 1_000;
async function loop(offset: number): Promise<void> {
  for (let i = offset; performance.now() < deadline; i++) {
    const isHeavy = i % 10 === 0;
    const started = performance.now();
    await request(isHeavy ? '/heavy' : '/light');
    (isHeavy ? heavy : light).push(performance.now() - started);
  }
}
const started = performance.now();
await Promise.all(Array.from({ length: connections }, (_, c) => loop(c)));
const elapsed = (performance.now() - started) / 1_000;
agent.destroy();
console.log(JSON.stringify({ light, heavy, errors, perSecond: (light.length + heavy.length) / elapsed }));
