/**
 * The contract between an example module (`examples/<name>.ts`) and `sockshard serve`: an example exports
 * `start(options)`, which builds an engine, starts it and says where it listens. It lives here, not in
 * `examples/`, because the CLI is compiled from `src/` alone and must not import anything outside it.
 */
import { siblingModule } from '../engine/start-worker.js';
import type { Engine, EngineOptions } from '../index.js';

/** What `sockshard serve` (or a test) asks of an example; absent fields take the example's defaults. */
export interface ExampleOptions {
  /** An IP literal to listen on. Default `127.0.0.1`. */
  readonly host?: string;
  /** 0 picks a free port. Default: the example's own port (7000, 8080, 5300, 6379). */
  readonly port?: number;
  /** Passed on to `createEngine` (shards, handleSignals, metrics, ...). */
  readonly engine?: EngineOptions;
}

export type ExampleProtocol = 'tcp' | 'http' | 'udp';

/** A started example. Stop it with `engine.close()`. */
export interface RunningExample {
  readonly engine: Engine;
  readonly protocol: ExampleProtocol;
  readonly host: string;
  /** The bound port (the kernel's pick when the example was started with port 0). */
  readonly port: number;
}

export type StartExample = (options?: ExampleOptions) => Promise<RunningExample>;

/** `tcp://127.0.0.1:7000`, `http://[::1]:8080/`: where a running example listens, for people to read. */
export function exampleUrl({ protocol, host, port }: RunningExample): string {
  const hostPart = host.includes(':') ? `[${host}]` : host;
  return `${protocol}://${hostPart}:${port}${protocol === 'http' ? '/' : ''}`;
}

/** Narrows a dynamically imported module to an example module. */
export function isExampleModule(value: unknown): value is { start: StartExample } {
  return (
    typeof value === 'object' && value !== null && typeof (value as { start?: unknown }).start === 'function'
  );
}

/**
 * A module beside an example (its handler), with the example's own extension: `.ts` where the example runs
 * from the repository's sources, `.js` where it runs from the package (the build compiles the examples into
 * `dist/examples/`). In your own project, write `new URL('./handler.js', import.meta.url)`.
 */
export function besideExample(relative: string, exampleUrl: string): URL {
  return siblingModule(relative, exampleUrl);
}
