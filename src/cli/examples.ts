/**
 * The examples `sockshard serve` knows. They live in `examples/` as TypeScript (they are meant to be read),
 * so the CLI loads them through tsx, a dev dependency: they run from a clone of the repository.
 */
import { exampleUrl, isExampleModule, type RunningExample, type StartExample } from './example.js';

export interface ExampleEntry {
  readonly name: string;
  readonly summary: string;
  /** A command to try a running example with. */
  readonly tryIt: (running: RunningExample) => string;
}

export const EXAMPLES: readonly ExampleEntry[] = [
  {
    name: 'tcp-echo',
    summary: 'echoes every byte back (engine.tcp)',
    tryIt: ({ host, port }) => `nc ${host} ${port}`,
  },
  {
    name: 'http-hello',
    summary: 'answers "hello from shard N" (engine.http)',
    tryIt: (running) => `curl ${exampleUrl(running)}`,
  },
  {
    name: 'http-fast',
    summary: "the same on sockshard's fast HTTP/1.1 path (engine.http({ api: 'fast' }))",
    tryIt: (running) => `curl ${exampleUrl(running)}   or   wrk ${exampleUrl(running)}`,
  },
  {
    name: 'udp-dns',
    summary: 'answers DNS A queries with 127.0.0.1 (engine.udp, every shard on one port)',
    tryIt: ({ host, port }) => `dig @${host} -p ${port} example.test A +short`,
  },
  {
    name: 'icmp-monitor',
    summary: 'pings hosts from every shard and serves the table as JSON (engine.icmp, needs CAP_NET_RAW)',
    tryIt: (running) => `curl ${exampleUrl(running)}`,
  },
  {
    name: 'resp-server',
    summary: 'a small Redis-protocol server: PING, SET, GET, INCR, ... (engine.tcp)',
    tryIt: ({ host, port }) =>
      `redis-cli -h ${host} -p ${port} ping   or   redis-benchmark -h ${host} -p ${port} -t ping,set,get -q`,
  },
];

export const EXAMPLE_NAMES: readonly string[] = EXAMPLES.map((example) => example.name);

/** The source file of an example: `examples/<name>.ts`, two levels up from both src/cli and dist/cli. */
export function exampleFile(name: string): URL {
  return new URL(`../../examples/${name}.ts`, import.meta.url);
}

let typeScriptLoader: Promise<void> | undefined;

/**
 * Makes `import()` of `.ts` files work. Run from its sources the CLI is already under tsx's loader; run
 * from `dist/` it registers tsx once, the way `sockshard`'s shards do for `.ts` handler modules.
 */
function loadTypeScript(): Promise<void> {
  if (import.meta.url.endsWith('.ts')) return Promise.resolve();
  typeScriptLoader ??= import('tsx/esm/api').then(
    ({ register }) => {
      register();
    },
    (error: unknown) => {
      throw new Error(
        'the examples are TypeScript and need tsx, a dev dependency: run sockshard from a clone after `npm ci`',
        { cause: error },
      );
    },
  );
  return typeScriptLoader;
}

/** Imports `examples/<name>.ts` and returns its `start` function. */
export async function loadExample(name: string): Promise<StartExample> {
  await loadTypeScript();
  const module: unknown = await import(exampleFile(name).href);
  if (!isExampleModule(module)) throw new Error(`examples/${name}.ts does not export a start() function`);
  return module.start;
}
