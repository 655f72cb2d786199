/**
 * The one table of what `sockshard serve ./module` can run: each kind of listener, how a handler module's
 * default export shows it is of that kind, and how to serve one. A new kind of listener (TLS, say) plugs
 * in with one entry here; `serve` and `bench` read nothing else. (The shards check the same hooks again
 * when they load the module: src/workers/listener-kinds.ts.)
 */
import type { Engine } from '../index.js';
import { type ExampleProtocol, exampleUrl, type RunningExample } from './example.js';

export interface ListenAt {
  readonly host: string;
  readonly port: number;
  readonly handler: URL;
}

export interface HandlerKind {
  /** What `--kind` calls it. */
  readonly name: string;
  /** How its hooks are named in messages: `request()`, `connection()`, ... */
  readonly hooks: string;
  /** Whether a module's default export is a handler of this kind. */
  fits(defaultExport: unknown): boolean;
  /** The scheme a client speaks to it. */
  readonly protocol: ExampleProtocol;
  readonly defaultPort: number;
  /** Adds the listener to an engine that has not started. */
  listen(engine: Engine, at: ListenAt): Engine;
  /** The port it listens on, once the engine has started (the kernel's pick for port 0). */
  boundPort(engine: Engine): number;
  /** A command to try it with. */
  tryIt(running: RunningExample): string;
}

function hook(defaultExport: unknown, name: string): boolean {
  return (
    typeof defaultExport === 'object' &&
    defaultExport !== null &&
    typeof (defaultExport as Readonly<Record<string, unknown>>)[name] === 'function'
  );
}

/** defineFastHttpHandler marks what it returns with `api: 'fast'`. */
function fastApi(defaultExport: unknown): boolean {
  return hook(defaultExport, 'request') && (defaultExport as { api?: unknown }).api === 'fast';
}

const tcpPort = (engine: Engine) => engine.addresses()[0]!.port;
const curl = (running: RunningExample) => `curl ${exampleUrl(running)}`;

export const HANDLER_KINDS: readonly HandlerKind[] = [
  {
    name: 'http',
    hooks: 'request() or a bare function',
    // engine.http takes a bare request listener as well.
    fits: (exported) => typeof exported === 'function' || (hook(exported, 'request') && !fastApi(exported)),
    protocol: 'http',
    defaultPort: 8080,
    listen: (engine, at) => engine.http(at),
    boundPort: tcpPort,
    tryIt: curl,
  },
  {
    name: 'fast-http',
    hooks: 'defineFastHttpHandler()',
    fits: fastApi,
    protocol: 'http',
    defaultPort: 8080,
    listen: (engine, at) => engine.http({ ...at, api: 'fast' }),
    boundPort: tcpPort,
    tryIt: curl,
  },
  {
    name: 'tcp',
    hooks: 'connection()',
    fits: (exported) => hook(exported, 'connection'),
    protocol: 'tcp',
    defaultPort: 7000,
    listen: (engine, at) => engine.tcp(at),
    boundPort: tcpPort,
    tryIt: ({ host, port }) => `nc ${host} ${port}`,
  },
  {
    name: 'udp',
    hooks: 'message()',
    fits: (exported) => hook(exported, 'message'),
    protocol: 'udp',
    defaultPort: 5300,
    // Every shard binds the port (SO_REUSEPORT; the kernel spreads peers), as `serve` runs one port.
    listen: (engine, { host, port, handler }) =>
      engine.udp({ host, ports: [port], handler, reusePort: true }),
    boundPort: (engine) => engine.udpPorts()[0]!.port,
    tryIt: ({ host, port }) => `nc -u ${host} ${port}`,
  },
];

export const KIND_NAMES: readonly string[] = HANDLER_KINDS.map((kind) => kind.name);

/**
 * The kind to serve a module as: the one its default export fits, or `requested` (`--kind`) where it fits
 * several. Throws an Error saying what is wrong (fits none, several without `--kind`, not `requested`).
 */
export function chooseKind(defaultExport: unknown, requested: string | undefined): HandlerKind {
  const kinds = HANDLER_KINDS.filter((kind) => kind.fits(defaultExport));
  if (kinds.length === 0) {
    const expected = HANDLER_KINDS.map((kind) => `${kind.hooks} for ${kind.name}`).join(', ');
    throw new Error(`its default export has none of the handler hooks (${expected})`);
  }
  if (requested !== undefined) {
    const kind = kinds.find((candidate) => candidate.name === requested);
    if (kind === undefined) {
      const wanted = HANDLER_KINDS.find((candidate) => candidate.name === requested)!;
      throw new Error(`serving it as ${requested} needs ${wanted.hooks}, which its default export lacks`);
    }
    return kind;
  }
  if (kinds.length > 1) {
    const names = kinds.map((kind) => `${kind.hooks} (${kind.name})`).join(' and ');
    throw new Error(`it has ${names}: choose one with --kind ${kinds.map((kind) => kind.name).join('|')}`);
  }
  return kinds[0]!;
}
