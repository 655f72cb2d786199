/**
 * The examples `sockshard serve` knows. They live in `examples/` as TypeScript (they are meant to be read);
 * the build compiles them into the package (`dist/examples/`), so `npx sockshard serve http-hello` runs
 * them from an install as JavaScript, and from a clone as TypeScript (where the CLI runs under tsx).
 */
import { siblingModule } from '../engine/start-worker.js';
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

/** An example's script: `examples/<name>.ts` in a clone, `dist/examples/<name>.js` in the package. */
export function exampleFile(name: string): URL {
  return siblingModule(`../../examples/${name}.js`, import.meta.url);
}

/** Imports an example's script and returns its `start` function. */
export async function loadExample(name: string): Promise<StartExample> {
  const file = exampleFile(name);
  const module: unknown = await import(file.href);
  if (!isExampleModule(module)) throw new Error(`${file.pathname} does not export a start() function`);
  return module.start;
}
