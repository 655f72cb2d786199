/**
 * The one table of what `sockshard serve ./module` can run: each kind of listener, the handler hook that
 * marks a module as that kind, and how to serve one. A new kind of listener (TLS, say) plugs in with one
 * entry here; `serve` and `bench` read nothing else.
 */
import type { Engine } from '../index.js';
import { type ExampleProtocol, exampleUrl, type RunningExample } from './example.js';

export interface ListenAt {
  readonly host: string;
  readonly port: number;
  readonly handler: URL;
}

export interface HandlerKind {
  readonly name: ExampleProtocol;
  /** The hook a handler module's default export has when it is of this kind. */
  readonly hook: string;
  /** Whether a default export that is a bare function is of this kind (engine.http takes a request listener). */
  readonly bareFunction: boolean;
  readonly defaultPort: number;
  /** Adds the listener to an engine that has not started. */
  listen(engine: Engine, at: ListenAt): Engine;
  /** The port it listens on, once the engine has started (the kernel's pick for port 0). */
  boundPort(engine: Engine): number;
  /** A command to try it with. */
  tryIt(running: RunningExample): string;
}

export const HANDLER_KINDS: readonly HandlerKind[] = [
  {
    name: 'http',
    hook: 'request',
    bareFunction: true,
    defaultPort: 8080,
    listen: (engine, at) => engine.http(at),
    boundPort: (engine) => engine.addresses()[0]!.port,
    tryIt: (running) => `curl ${exampleUrl(running)}`,
  },
  {
    name: 'tcp',
    hook: 'connection',
    bareFunction: false,
    defaultPort: 7000,
    listen: (engine, at) => engine.tcp(at),
    boundPort: (engine) => engine.addresses()[0]!.port,
    tryIt: ({ host, port }) => `nc ${host} ${port}`,
  },
  {
    name: 'udp',
    hook: 'message',
    bareFunction: false,
    defaultPort: 5300,
    // Every shard binds the port (SO_REUSEPORT; the kernel spreads peers), as `serve` runs one port.
    listen: (engine, { host, port, handler }) =>
      engine.udp({ host, ports: [port], handler, reusePort: true }),
    boundPort: (engine) => engine.udpPorts()[0]!.port,
    tryIt: ({ host, port }) => `nc -u ${host} ${port}`,
  },
];

export const KIND_NAMES: readonly string[] = HANDLER_KINDS.map((kind) => kind.name);

/** The kinds whose hook a module's default export has. */
export function kindsOf(defaultExport: unknown): HandlerKind[] {
  if (typeof defaultExport === 'function') return HANDLER_KINDS.filter((kind) => kind.bareFunction);
  if (typeof defaultExport !== 'object' || defaultExport === null) return [];
  const hooks = defaultExport as Readonly<Record<string, unknown>>;
  return HANDLER_KINDS.filter((kind) => typeof hooks[kind.hook] === 'function');
}

/**
 * The kind to serve a module as: the one its hooks name, or `requested` (`--kind`) where it has several.
 * Throws an Error saying what is wrong (no hook, several without `--kind`, a `--kind` it does not have).
 */
export function chooseKind(defaultExport: unknown, requested: string | undefined): HandlerKind {
  const kinds = kindsOf(defaultExport);
  const expected = HANDLER_KINDS.map((kind) => `${kind.hook}() for ${kind.name}`).join(', ');
  if (kinds.length === 0) {
    throw new Error(`its default export has none of the handler hooks (${expected})`);
  }
  if (requested !== undefined) {
    const kind = kinds.find((candidate) => candidate.name === requested);
    if (kind === undefined) {
      const wanted = HANDLER_KINDS.find((candidate) => candidate.name === requested)!;
      throw new Error(
        `serving it as ${requested} needs a ${wanted.hook}() hook, which its default export lacks`,
      );
    }
    return kind;
  }
  if (kinds.length > 1) {
    const names = kinds.map((kind) => `${kind.hook}() (${kind.name})`).join(' and ');
    throw new Error(`it has ${names}: choose one with --kind ${kinds.map((kind) => kind.name).join('|')}`);
  }
  return kinds[0]!;
}
