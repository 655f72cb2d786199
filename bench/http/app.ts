/**
 * The one application every contender serves, so that only the server architecture differs:
 * `GET /` answers a tiny "hello world", `GET /cpu` first does a fixed amount of CPU work (cpu-work.ts).
 * Baseline servers call it from their request listener, sockshard shards through sockshard-app.ts.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { cpuWork } from './cpu-work.js';

/** Environment variable that carries the calibrated iteration count to every server (and its threads). */
export const CPU_ITERATIONS_ENV = 'SOCKSHARD_BENCH_CPU_ITERATIONS';

export const HELLO_PATH = '/';
export const CPU_PATH = '/cpu';
export const HELLO_BODY = 'hello world\n';

export function cpuBody(iterations: number): string {
  return `cpu ${cpuWork(iterations)}\n`;
}

export type App = (request: IncomingMessage, response: ServerResponse) => void;

export function createApp(cpuIterations: number): App {
  return (request, response) => {
    let body: string;
    if (request.url === HELLO_PATH) body = HELLO_BODY;
    else if (request.url === CPU_PATH) body = cpuBody(cpuIterations);
    else {
      response.statusCode = 404;
      response.end();
      return;
    }
    response.setHeader('content-type', 'text/plain');
    response.end(body);
  };
}

/** The app with the iteration count the orchestrator calibrated. */
export function appFromEnv(): App {
  const iterations = Number(process.env[CPU_ITERATIONS_ENV]);
  if (!Number.isInteger(iterations) || iterations < 1) {
    throw new Error(
      `${CPU_ITERATIONS_ENV} must be a positive integer, got ${process.env[CPU_ITERATIONS_ENV]}`,
    );
  }
  return createApp(iterations);
}

/**
 * The baselines' server: a plain node:http server running the app from the environment, counting
 * requests, connections and client errors (node:http and every node:cluster worker run the same one).
 */
export function countingServer(): {
  readonly server: Server;
  counters(): { requests: number; connections: number; clientErrors: number };
} {
  const app = appFromEnv();
  let requests = 0;
  let connections = 0;
  let clientErrors = 0;
  const server = createServer((request, response) => {
    requests++;
    app(request, response);
  });
  server.on('connection', () => connections++);
  server.on('clientError', (_error, socket) => {
    clientErrors++;
    socket.destroy();
  });
  return { server, counters: () => ({ requests, connections, clientErrors }) };
}
