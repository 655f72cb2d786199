/**
 * The resp-server's data and commands: string keys and values in a Map, replies encoded as RESP2.
 * One Keyspace per shard (the handler module makes one, and each shard imports its own copy), so two
 * connections served by different shards do not see each other's keys: see resp-server.ts.
 */
import type { RespCommand } from './resp-parser.js';

const CRLF = '\r\n';
export const OK = Buffer.from(`+OK${CRLF}`);
const PONG = Buffer.from(`+PONG${CRLF}`);
const NULL_BULK = Buffer.from(`$-1${CRLF}`);
const EMPTY_ARRAY = Buffer.from(`*0${CRLF}`);
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** What `CONFIG GET` answers: redis-benchmark asks for these two on connect and warns if it gets nothing. */
const CONFIG: ReadonlyMap<string, string> = new Map([
  ['save', ''],
  ['appendonly', 'no'],
]);

export function simpleString(text: string): Buffer {
  return Buffer.from(`+${text}${CRLF}`);
}

export function errorReply(message: string): Buffer {
  return Buffer.from(`-${message.replace(/[\r\n]/g, ' ')}${CRLF}`);
}

export function integerReply(value: number | bigint): Buffer {
  return Buffer.from(`:${value}${CRLF}`);
}

export function bulkReply(value: Buffer | string | undefined): Buffer {
  if (value === undefined) return NULL_BULK;
  const bytes = typeof value === 'string' ? Buffer.from(value) : value;
  return Buffer.concat([Buffer.from(`$${bytes.length}${CRLF}`), bytes, Buffer.from(CRLF)]);
}

export function arrayReply(items: readonly Buffer[]): Buffer {
  return items.length === 0 ? EMPTY_ARRAY : Buffer.concat([Buffer.from(`*${items.length}${CRLF}`), ...items]);
}

type Command = (keyspace: Keyspace, args: RespCommand) => Buffer;

/** name → [arity, implementation]; arity as Redis counts it (name included), negative for "at least". */
const COMMANDS: ReadonlyMap<string, readonly [number, Command]> = new Map<string, readonly [number, Command]>(
  [
    [
      'PING',
      [
        -1,
        (_, args) => (args.length === 1 ? PONG : args.length === 2 ? bulkReply(args[1]) : wrongArity('ping')),
      ],
    ],
    ['ECHO', [2, (_, args) => bulkReply(args[1])]],
    ['SET', [-3, (keyspace, args) => keyspace.set(args)]],
    ['GET', [2, (keyspace, args) => bulkReply(keyspace.get(args[1]!))]],
    ['DEL', [-2, (keyspace, args) => integerReply(keyspace.delete(args.slice(1)))]],
    ['EXISTS', [-2, (keyspace, args) => integerReply(keyspace.exists(args.slice(1)))]],
    ['INCR', [2, (keyspace, args) => keyspace.incrementBy(args[1]!, 1n)]],
    ['DECR', [2, (keyspace, args) => keyspace.incrementBy(args[1]!, -1n)]],
    ['INCRBY', [3, (keyspace, args) => incrementByArgument(keyspace, args, 1n)]],
    ['DECRBY', [3, (keyspace, args) => incrementByArgument(keyspace, args, -1n)]],
    ['DBSIZE', [1, (keyspace) => integerReply(keyspace.size)]],
    ['FLUSHDB', [-1, (keyspace) => keyspace.flush()]],
    ['FLUSHALL', [-1, (keyspace) => keyspace.flush()]],
    ['CONFIG', [-2, (_, args) => config(args)]],
    // redis-cli asks for command docs when it starts interactively; an empty list is a valid answer.
    ['COMMAND', [-1, () => EMPTY_ARRAY]],
    [
      'SELECT',
      [2, (_, args) => (args[1]!.toString() === '0' ? OK : errorReply('ERR DB index is out of range'))],
    ],
    // Client libraries name themselves on connect (CLIENT SETNAME, CLIENT SETINFO): accepted and ignored.
    ['CLIENT', [-2, (_, args) => client(args)]],
  ],
);

export class Keyspace {
  readonly #data = new Map<string, Buffer>();

  /** Runs one command and returns its encoded reply (an error reply, never a throw, for bad input). */
  execute(args: RespCommand): Buffer {
    const name = args[0]!.toString('latin1').toUpperCase();
    const entry = COMMANDS.get(name);
    if (entry === undefined) {
      const start = args
        .slice(1, 4)
        .map((arg) => `'${arg.toString('latin1').slice(0, 32)}'`)
        .join(' ');
      return errorReply(`ERR unknown command '${name.slice(0, 64)}', with args beginning with: ${start}`);
    }
    const [arity, command] = entry;
    if (arity > 0 ? args.length !== arity : args.length < -arity) return wrongArity(name.toLowerCase());
    return command(this, args);
  }

  get size(): number {
    return this.#data.size;
  }

  // Keys are binary strings: latin1 maps each byte to one UTF-16 unit, so distinct byte strings stay distinct.
  get(key: Buffer): Buffer | undefined {
    return this.#data.get(key.toString('latin1'));
  }

  set(args: RespCommand): Buffer {
    // SET key value, without options (EX, NX, ...): this example keeps no expiry.
    if (args.length !== 3) return errorReply('ERR syntax error (this server supports SET key value only)');
    // Copied: the argument is a view into a received chunk that this map would otherwise keep alive.
    this.#data.set(args[1]!.toString('latin1'), Buffer.from(args[2]!));
    return OK;
  }

  delete(keys: readonly Buffer[]): number {
    let deleted = 0;
    for (const key of keys) if (this.#data.delete(key.toString('latin1'))) deleted++;
    return deleted;
  }

  exists(keys: readonly Buffer[]): number {
    let found = 0;
    for (const key of keys) if (this.#data.has(key.toString('latin1'))) found++;
    return found;
  }

  incrementBy(key: Buffer, delta: bigint): Buffer {
    const current = this.get(key);
    const value = current === undefined ? 0n : parseInt64(current);
    if (value === undefined) return errorReply('ERR value is not an integer or out of range');
    const next = value + delta;
    if (next < INT64_MIN || next > INT64_MAX) return errorReply('ERR increment or decrement would overflow');
    this.#data.set(key.toString('latin1'), Buffer.from(String(next)));
    return integerReply(next);
  }

  flush(): Buffer {
    this.#data.clear();
    return OK;
  }
}

function incrementByArgument(keyspace: Keyspace, args: RespCommand, sign: bigint): Buffer {
  const delta = parseInt64(args[2]!);
  if (delta === undefined) return errorReply('ERR value is not an integer or out of range');
  return keyspace.incrementBy(args[1]!, sign * delta);
}

/** A 64-bit signed integer written as Redis writes them (no spaces, no '+', no leading zeros), or undefined. */
function parseInt64(bytes: Buffer): bigint | undefined {
  if (bytes.length === 0 || bytes.length > 20) return undefined;
  const text = bytes.toString('latin1');
  if (!/^(0|-?[1-9][0-9]*)$/.test(text)) return undefined;
  const value = BigInt(text);
  return value < INT64_MIN || value > INT64_MAX ? undefined : value;
}

function config(args: RespCommand): Buffer {
  if (args[1]!.toString('latin1').toUpperCase() !== 'GET')
    return errorReply('ERR only CONFIG GET is supported');
  const items: Buffer[] = [];
  for (const parameter of args.slice(2)) {
    const name = parameter.toString('latin1').toLowerCase();
    const value = CONFIG.get(name);
    if (value !== undefined) items.push(bulkReply(name), bulkReply(value));
  }
  return arrayReply(items);
}

function client(args: RespCommand): Buffer {
  const subcommand = args[1]!.toString('latin1').toUpperCase();
  if (subcommand === 'SETNAME' || subcommand === 'SETINFO') return OK;
  return errorReply(`ERR CLIENT ${subcommand.slice(0, 32)} is not supported here`);
}

function wrongArity(name: string): Buffer {
  return errorReply(`ERR wrong number of arguments for '${name}' command`);
}
