/**
 * The `sockshard` command line (commander): `serve` runs an example, `bench` runs the benchmarks.
 * `runCli` returns the exit code instead of exiting, so it can run inside another program (and the
 * examples' own `main` uses `runExample` below).
 */
import { realpathSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Argument, Command, CommanderError, InvalidArgumentError } from 'commander';
import { type BenchFlags, benchNames, runBench } from './bench.js';
import type { StartExample } from './example.js';
import { EXAMPLE_NAMES, EXAMPLES, loadExample } from './examples.js';
import { type ServeFlags, serveExample } from './serve.js';

const DESCRIPTION =
  'Runs the examples and benchmarks of sockshard, a multi-core socket engine for Node.js: a coordinator ' +
  'accepts TCP and hands each connection to a worker-thread shard that runs your handler (TCP, node:http, ' +
  'UDP). Run it from a clone of the repository.';

/** Runs the CLI on `argv` (without node and the script) and resolves with the exit code. */
export async function runCli(argv: readonly string[]): Promise<number> {
  const { args, extra } = splitAtDashes(argv);
  let exitCode = 0;
  const program = new Command('sockshard')
    .description(DESCRIPTION)
    .version(await packageVersion(), '-v, --version', 'print the version')
    .helpCommand(true);
  const serve = program
    .command('serve')
    .description('run an example until Ctrl-C (SIGINT) or SIGTERM, then close gracefully')
    .addArgument(new Argument('<example>', 'the example to run').choices(EXAMPLE_NAMES))
    .addHelpText('after', `\nExamples (examples/<name>.ts):\n${examplesHelp()}`)
    .action(async (name: string, options: ServeFlags) => {
      let start: StartExample;
      try {
        start = await loadExample(name);
      } catch (error) {
        console.error(`sockshard: cannot load examples/${name}.ts: ${(error as Error).message}`);
        exitCode = 1;
        return;
      }
      exitCode = await serveExample(name, start, options);
    });
  addServeOptions(serve);
  program
    .command('bench')
    .description('run one benchmark from bench/, or with no name all of them and the report (npm run bench)')
    .argument('[name]', `one of: ${benchNames().join(', ') || '(none found)'}; default: all`)
    .option('-q, --quick', 'short runs (a smoke test, not a measurement)')
    .option('-r, --runs <n>', 'runs per contender (figures are medians)', integerOption(1, 1000))
    .addHelpText(
      'after',
      '\nArguments after -- go to the script unchanged, e.g.\n' +
        '  sockshard bench http --quick -- --duration 2\n' +
        '  sockshard bench --quick -- --only ring,udp',
    )
    .action(async (name: string | undefined, options: BenchFlags) => {
      exitCode = await runBench(name, options, extra);
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
      exitCode = await serveExample(name, start, { ...defaults, ...options });
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

function examplesHelp(): string {
  const width = Math.max(...EXAMPLE_NAMES.map((name) => name.length));
  return EXAMPLES.map((example) => `  ${example.name.padEnd(width)}  ${example.summary}`).join('\n');
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

/** package.json sits two levels up from both src/cli and dist/cli. */
async function packageVersion(): Promise<string> {
  const text = await readFile(new URL('../../package.json', import.meta.url), 'utf8');
  const { version } = JSON.parse(text) as { version?: unknown };
  return typeof version === 'string' ? version : 'unknown';
}
