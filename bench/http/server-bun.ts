/**
 * The anchor for bench/http.ts: Bun.serve, run by the `bun` binary of the npm package (a devDependency),
 * serving the app of app.ts (same routes, bodies, content type and CPU work) in two processes on one port
 * with `reusePort` (the kernel spreads connections over them, as nginx's workers do).
 *
 *   bun bench/http/server-bun.ts '{"processes":2}'
 *
 * The first process binds port 0, starts the others on the port it got, and announces every pid once
 * they all serve; on SIGTERM it ends them and itself.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { announce } from '../lib/children.js';
import { CPU_PATH, cpuBody, HELLO_BODY, HELLO_PATH, iterationsFromEnv } from './app.js';

/** Bun's own API, the little of it used here (bun's types are not a dependency). */
declare const Bun: {
  serve(options: { hostname: string; port: number; reusePort: boolean; fetch(request: Request): Response }): {
    port: number;
    stop(closeActive?: boolean): void;
  };
};

const config = JSON.parse(process.argv[2]!) as { processes: number; port?: number };
const iterations = iterationsFromEnv();
const headers = { 'content-type': 'text/plain' };

const server = Bun.serve({
  hostname: '127.0.0.1',
  port: config.port ?? 0,
  reusePort: true,
  fetch(request) {
    // request.url is absolute: the request target starts at the first '/' after the scheme's '//'.
    const url = request.url;
    const target = url.slice(url.indexOf('/', 8));
    if (target === HELLO_PATH) return new Response(HELLO_BODY, { headers });
    if (target === CPU_PATH) return new Response(cpuBody(iterations), { headers });
    return new Response(null, { status: 404 });
  },
});

if (config.port !== undefined) {
  // A follower: the first process reads this line, then ends us with SIGTERM.
  announce({ port: server.port }, () => server.stop(true));
} else {
  const followers = Array.from({ length: config.processes - 1 }, () =>
    spawn(process.execPath, [process.argv[1]!, JSON.stringify({ ...config, port: server.port })], {
      stdio: ['ignore', 'pipe', 'inherit'],
    }),
  );
  await Promise.all(
    followers.map(async (follower) => {
      for await (const line of createInterface({ input: follower.stdout! })) {
        if (line.startsWith('{')) return;
      }
      throw new Error('a Bun follower process ended before it served');
    }),
  );
  announce({ port: server.port, pids: [process.pid, ...followers.map((f) => f.pid!)] }, () => {
    for (const follower of followers) follower.kill('SIGTERM');
    server.stop(true);
  });
}
