/**
 * The child side of a benchmark server: announce the port, answer counter queries, stop on request.
 * A server that loses its orchestrator (the IPC channel closes: Ctrl-C, a crash, a kill) exits at once,
 * so no server outlives a benchmark run.
 */
import type { ServerCounters, ServerMessage, ServerRequest } from './protocol.js';

export interface RunningServer {
  readonly port: number;
  /** Every process that serves (the cluster primary and its workers, or just this one). */
  readonly pids: readonly number[];
  counters(): ServerCounters | Promise<ServerCounters>;
  stop(): Promise<void>;
}

function send(message: ServerMessage): Promise<void> {
  return new Promise((resolve) => {
    if (process.send === undefined || !process.connected) resolve();
    else process.send(message, undefined, {}, () => resolve());
  });
}

function describe(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}

/** Runs `start`, then serves the orchestrator's requests until it says stop (or goes away). */
export function runServerChild(start: () => Promise<RunningServer>): void {
  if (process.send === undefined)
    throw new Error('run this file from bench/http.ts (it needs an IPC channel)');
  process.on('disconnect', () => process.exit(1));
  start().then(
    (server) => {
      process.on('message', (message: ServerRequest) => {
        void answer(server, message).catch(async (error: unknown) => {
          await send({ type: 'failed', message: describe(error) });
        });
      });
      void send({ type: 'listening', port: server.port, pids: server.pids });
    },
    async (error: unknown) => {
      await send({ type: 'failed', message: describe(error) });
      process.exit(1);
    },
  );
}

async function answer(server: RunningServer, message: ServerRequest): Promise<void> {
  if (message.type === 'counters') {
    await send({ type: 'counters', ...(await server.counters()) });
  } else if (message.type === 'stop') {
    const started = performance.now();
    await server.stop();
    await send({ type: 'stopped', closeMs: performance.now() - started });
    process.exit(0);
  }
}
