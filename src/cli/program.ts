/**
 * The `sockshard` command line (commander): `serve` runs an example or the user's handler module, `bench`
 * measures the user's HTTP handler against node:cluster and node:http (or, in a clone, runs the repository's
 * benchmarks). `runCli` returns the exit code instead of exiting, so it can run inside another program (and
 * the examples' own `main` uses `runExample` below).
 */
import { realpathSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { PACKAGE_ROOT } from '../package-root.js';
import { type BenchFlags, benchNames, runBench } from './bench.js';
import type { StartExample } from './example.js';
import { EXAMPLE_NAMES, EXAMPLES, loadExample } from './examples.js';
import { benchHandler, formatHandlerBench } from './handler-bench.js';
import { KIND_NAMES } from './handler-kinds.js';
import { exampleServable, type Servable, type ServeFlags, serve, userModuleServable } from './serve.js';
import { loadUserModule, looksLikeModulePath, type UserModule } from './user-module.js';

const DESCRIPTION =
  'sockshard, a multi-core socket engine for Node.js: a coordinator accepts TCP and hands each connection ' +
  'to a worker-thread shard that runs your handler (TCP, node:http, UDP). `serve` runs your handler module ' +
  '(or a bundled example) on every core; `bench` measures your HTTP handler against node:cluster and ' +
  'node:http.';

interface ServeCommandFlags extends ServeFlags {
  readonly kind?: string;
}

interface BenchCommandFlags extends BenchFlags {
  readonly json?: boolean;
  readonly shards?: number;
  readonly connections?: number;
  readonly duration?: number;
  readonly path?: string;
}

/** `--quick` runs: long enough to warm up, short enough for a smoke test. */
const QUICK = { warmupSeconds: 1, durationSeconds: 3 };
const FULL = { warmupSeconds: 2, durationSeconds: 10 };
const DEFAULT_CONNECTIONS = 100;

/** Runs the CLI on `argv` (without node and the script) and resolves with the exit code. */
export async function runCli(argv: readonly string[]): Promise<number> {
  const { args, extra } = splitAtDashes(argv);
  let exitCode = 0;
  const program = new Command('sockshard')
    .description(DESCRIPTION)
    .version(await packageVersion(), '-v, --version', 'print the version')
    .helpCommand(true);
  const serveCommand = program
    .command('serve')
    .description(
      'serve a handler module or an example until Ctrl-C (SIGINT) or SIGTERM, then close gracefully',
    )
    .argument('<module|example>', 'a handler module (./app.mjs) or the name of an example')
    .addOption(
      new Option('-k, --kind <kind>', "the listener, where the module's hooks allow several").choices(
        KIND_NAMES,
      ),
    )
    .addHelpText('after', `\n${serveHelp()}`)
    .action(async (target: string, options: ServeCommandFlags) => {
      let servable: Servable;
      try {
        servable = await servableOf(target, options.kind);
      } catch (error) {
        console.error(`sockshard: ${(error as Error).message}`);
        exitCode = 1;
        return;
      }
      exitCode = await serve(servable, options);
    });
  addServeOptions(serveCommand);
  program
    .command('bench')
    .description(
      'measure your HTTP handler module on sockshard, node:cluster and node:http; in a clone of the ' +
        'repository, run its benchmarks by name',
    )
    .argument(
      '[module|benchmark]',
      `a handler module (./app.mjs); in a clone, one of: ${benchNames().join(', ') || '(none here)'}`,
    )
    .option(
      '-q, --quick',
      `short runs: ${QUICK.warmupSeconds} s warm-up and ${QUICK.durationSeconds} s measured (a smoke test)`,
    )
    .option('--json', 'print the results as JSON on stdout (progress goes to stderr)')
    .option(
      '-s, --shards <n>',
      'shards for sockshard, workers for node:cluster (default: one per core)',
      integerOption(1, 256),
    )
    .option(
      '-c, --connections <n>',
      `concurrent connections (default: ${DEFAULT_CONNECTIONS})`,
      integerOption(1, 10_000),
    )
    .option(
      '-d, --duration <seconds>',
      `measured seconds per contender (default: ${FULL.durationSeconds})`,
      integerOption(1, 3_600),
    )
    .option('--path <path>', 'the request path (default: /)', pathOption)
    .option(
      '-r, --runs <n>',
      'repository benchmarks: runs per contender (figures are medians)',
      integerOption(1, 1000),
    )
    .addHelpText('after', `\n${benchHelp()}`)
    .action(async (target: string | undefined, options: BenchCommandFlags) => {
      exitCode =
        target !== undefined && looksLikeModulePath(target)
          ? await benchModule(target, options)
          : await runBench(target, options, extra);
    });
  for (const command of [program, ...program.commands]) {
    const usage = command === program ? 'sockshard --help' : `sockshard ${command.name()} --help`;
    command.exitOverride().showHelpAfterError(`(${usage} for usage)`);
  }
  if (extra.length > 0 && args[0] !== 'bench') {
    console.error('sockshard: arguments after -- are only for `sockshard bench`');
    return 1;
  }
  try {
    await program.parseAsync(args, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    throw error;
  }
  return exitCode;
}

/** An example by name, else a handler module by path. */
async function servableOf(target: string, kind: string | undefined): Promise<Servable> {
  if (looksLikeModulePath(target)) return userModuleServable(await loadUserModule(target, kind));
  if (!EXAMPLE_NAMES.includes(target)) {
    throw new Error(
      `'${target}' is no example (${EXAMPLE_NAMES.join(', ')}); a handler module is named by its path, ` +
        `like ./${target}.mjs`,
    );
  }
  if (kind !== undefined) throw new Error('--kind is for handler modules; an example knows its own');
  return exampleServable(target, await loadExample(target));
}

/**
 * The module as a node:http handler, which is what the baselines run (autocannon speaks HTTP); an error
 * that names its kind if it is another.
 */
async function httpModule(target: string): Promise<UserModule> {
  try {
    return await loadUserModule(target, 'http');
  } catch (error) {
    const other = await loadUserModule(target, undefined).catch(() => undefined);
    if (other === undefined) throw error;
    throw new Error(
      `${target} is a ${other.kind.name} handler: sockshard bench measures node:http handlers ` +
        '(request() or a bare function), which node:cluster and node:http can run too',
    );
  }
}

async function benchModule(target: string, options: BenchCommandFlags): Promise<number> {
  const timing = options.quick === true ? QUICK : FULL;
  try {
    const module = await httpModule(target);
    const report = await benchHandler(module, {
      workers: options.shards ?? os.availableParallelism(),
      connections: options.connections ?? DEFAULT_CONNECTIONS,
      warmupSeconds: timing.warmupSeconds,
      durationSeconds: options.duration ?? timing.durationSeconds,
      path: options.path ?? '/',
    });
    console.log(options.json === true ? JSON.stringify(report, null, 2) : formatHandlerBench(report));
    const served = report.contenders.find((contender) => contender.name === 'sockshard')!;
    if (served.requestsPerSecond > 0) return 0;
    console.error('sockshard: no request succeeded on sockshard (see the errors column)');
    return 1;
  } catch (error) {
    console.error(`sockshard: ${(error as Error).message}`);
    return 1;
  }
}

/**
 * The `main` of an example run as a script (`npx tsx examples/<name>.ts [--port N] ...`): the same as
 * `sockshard serve <name>`, with the same options, for an example that is already loaded.
 */
export async function runExample(
  name: string,
  start: StartExample,
  defaults: { readonly stats?: number } = {},
  argv: readonly string[] = process.argv.slice(2),
): Promise<number> {
  let exitCode = 0;
  const command = new Command(`npx tsx examples/${name}.ts`)
    .description(
      `${EXAMPLES.find((example) => example.name === name)?.summary ?? name}; the same as \`sockshard serve ${name}\``,
    )
    .exitOverride()
    .action(async (options: ServeFlags) => {
      exitCode = await serve(exampleServable(name, start), { ...defaults, ...options });
    });
  addServeOptions(command);
  try {
    await command.parseAsync(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    throw error;
  }
  return exitCode;
}

/** True when the module at `url` is the script node was started with (not imported by a test or the CLI). */
export function isMain(url: string): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(url));
  } catch {
    return false;
  }
}

function addServeOptions(command: Command): void {
  command
    .option('-p, --port <port>', "port to listen on, 0 for any free one (default: the example's)", portOption)
    .option('--host <ip>', 'IP address to listen on (default: 127.0.0.1; :: for every address)', hostOption)
    .option('-s, --shards <n>', 'shard worker threads (default: one per core)', integerOption(1, 256))
    .option('--stats <seconds>', 'print a line of engine.stats() every <seconds>', integerOption(1, 86_400))
    .option('--metrics-port <port>', 'serve Prometheus metrics at http://<host>:<port>/metrics', portOption);
}

function serveHelp(): string {
  const width = Math.max(...EXAMPLE_NAMES.map((name) => name.length));
  const examples = EXAMPLES.map((example) => `  ${example.name.padEnd(width)}  ${example.summary}`).join(
    '\n',
  );
  return [
    "A handler module's default export says what it serves: request() (or a bare",
    'function) HTTP, connection() TCP, message() UDP (every shard binds the port).',
    'defineHttpHandler() and its siblings type it. Its top level runs once in this',
    'process too, to learn that. For example:',
    '  sockshard serve ./app.mjs --port 8080 --shards 4',
    '  sockshard serve http-hello',
    '',
    `Bundled examples:\n${examples}`,
  ].join('\n');
}

function benchHelp(): string {
  return [
    'With a handler module: serves it on sockshard, on node:cluster (same handler,',
    'same worker count) and on one node:http thread, one after another; drives',
    'each with autocannon (GET, keep-alive) and prints throughput, the ratios to',
    "both baselines, latencies and each server's CPU time per request. The",
    'baselines give the handler shardId and shards; sendToShard, ping and offload',
    'need sockshard. For example:',
    '  sockshard bench ./app.mjs --quick',
    '  sockshard bench ./app.mjs --shards 4 --connections 200 --json > bench.json',
    '',
    'In a clone of the repository, a benchmark name (or none: all of them) runs',
    'bench/<name>.ts; arguments after -- go to the script unchanged:',
    '  sockshard bench http --quick -- --duration 2',
    '  sockshard bench --quick -- --only ring,udp',
  ].join('\n');
}

function integerOption(min: number, max: number): (value: string) => number {
  return (value) => {
    const parsed = Number(value);
    if (!/^\d+$/.test(value) || parsed < min || parsed > max) {
      throw new InvalidArgumentError(`must be an integer from ${min} to ${max}`);
    }
    return parsed;
  };
}

const portOption = integerOption(0, 65_535);

function pathOption(value: string): string {
  if (!value.startsWith('/')) throw new InvalidArgumentError('must start with /');
  return value;
}

function hostOption(value: string): string {
  if (isIP(value) === 0)
    throw new InvalidArgumentError('must be an IPv4 or IPv6 address, like 127.0.0.1 or ::1');
  return value;
}

/** `args` for commander, `extra` (after a `--`) passed on unchanged to a benchmark script. */
function splitAtDashes(argv: readonly string[]): { args: string[]; extra: string[] } {
  const dashes = argv.indexOf('--');
  if (dashes === -1) return { args: [...argv], extra: [] };
  return { args: argv.slice(0, dashes), extra: argv.slice(dashes + 1) };
}

async function packageVersion(): Promise<string> {
  const text = await readFile(new URL('package.json', PACKAGE_ROOT), 'utf8');
  const { version } = JSON.parse(text) as { version?: unknown };
  return typeof version === 'string' ? version : 'unknown';
}
