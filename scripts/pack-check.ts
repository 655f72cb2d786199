/**
 * Pack and install, as a user gets sockshard: `npm pack` on this checkout (which runs `prepack`: a clean
 * dist/ and the prebuilt addon), then the tarball installed into empty temporary apps with a PATH that has
 * no compiler, make or python, once with install scripts on and once with them off. From each install:
 * the plain-JavaScript app in scripts/pack-check/ serves HTTP, TCP and UDP to real clients, reads stats()
 * and closes; raw ICMP works where raw-socket has a binary for this Node and fails with
 * ERR_ICMP_UNAVAILABLE where it has none (the install itself never fails for it); a TypeScript handler
 * loads where Node strips types, and elsewhere fails saying what to do, then works under tsx. From the
 * first install also: strict `tsc --noEmit` over a TypeScript consumer against the installed types, and
 * `npx sockshard serve` and `npx sockshard bench --quick` against a handler written here.
 *
 * Runs with whichever `node` runs it (CI: once per Node leg). Prints one line per check and
 * "N passed, N failed"; exits 1 if any failed.
 *
 *   npm run pack-check                       # packs this checkout first
 *   npm run pack-check -- --tarball <tgz>    # installs a tarball packed earlier (by another Node leg)
 *   npm run pack-check -- --pack-into <dir>  # packs into <dir> and keeps the tarball there
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { once } from 'node:events';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs, promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../', import.meta.url));
const APP_FILES = fileURLToPath(new URL('./pack-check/', import.meta.url));
/** Commands left out of the PATH the installs see: every compiler, linker driver, make and python. */
const BUILD_TOOLS =
  /^(cc|c\+\+|c89|c99|cpp|gcc|g\+\+|clang.*|tcc|ld|ld\..*|as|make|gmake|cmake|ninja|python.*|pydoc.*|node-gyp.*|.*-(gcc|g\+\+|cpp|cc|ld|as)(-[\d.]+)?|(gcc|g\+\+|cpp)-[\d.]+)$/;
const TIMEOUT_MS = 60_000;

const { values } = parseArgs({
  options: { tarball: { type: 'string' }, 'pack-into': { type: 'string' } },
});

let passed = 0;
let failed = 0;

async function check(name: string, body: () => Promise<string | undefined>): Promise<boolean> {
  try {
    const note = await body();
    passed++;
    console.log(`ok      ${name}${note ? ` (${note})` : ''}`);
    return true;
  } catch (error) {
    failed++;
    console.log(
      `FAILED  ${name}\n        ${String((error as Error).stack ?? error).replaceAll('\n', '\n        ')}`,
    );
    return false;
  }
}

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

/** A folder everyone can read: children of a root CI run may not be able to enter a 0700 one. */
function readableTempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  chmodSync(dir, 0o755);
  return dir;
}

/** A bin folder with every command on PATH except the build tools, and this Node as `node`. */
function pathWithoutBuildTools(work: string): string {
  const bin = path.join(work, 'bin');
  mkdirSync(bin);
  symlinkSync(process.execPath, path.join(bin, 'node'));
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (!dir || !existsSync(dir)) continue;
    for (const name of readdirSync(dir)) {
      if (BUILD_TOOLS.test(name) || existsSync(path.join(bin, name))) continue;
      symlinkSync(path.join(dir, name), path.join(bin, name));
    }
  }
  return bin;
}

const work = readableTempDir('sockshard-pack-check-');
const bin = pathWithoutBuildTools(work);
/** The installs' environment: no compiler on PATH, and none named by the variables node-gyp reads. */
const env: NodeJS.ProcessEnv = { ...process.env, PATH: bin };
for (const name of ['CC', 'CXX', 'PYTHON', 'npm_config_python', 'TSX_DISABLE_CACHE', 'NODE_OPTIONS'])
  delete env[name];

async function pack(): Promise<string> {
  if (values.tarball !== undefined) return path.resolve(values.tarball);
  const into = values['pack-into'] === undefined ? work : path.resolve(values['pack-into']);
  mkdirSync(into, { recursive: true });
  const { stdout } = await run('npm', ['pack', '--pack-destination', into, '--silent'], {
    cwd: ROOT,
    maxBuffer: 64 << 20,
  });
  return path.join(into, stdout.trim().split('\n').at(-1)!);
}

/** An empty app with the tarball installed; `ignoreScripts` installs with install scripts off. */
async function install(tarball: string, name: string, ignoreScripts: boolean): Promise<string> {
  const app = path.join(work, name);
  mkdirSync(app);
  writeFileSync(
    path.join(app, 'package.json'),
    `${JSON.stringify({ name, private: true, type: 'module' })}\n`,
  );
  const args = [
    'install',
    '--no-audit',
    '--no-fund',
    ...(ignoreScripts ? ['--ignore-scripts'] : []),
    tarball,
  ];
  await run('npm', args, { cwd: app, env, maxBuffer: 64 << 20, timeout: 5 * TIMEOUT_MS });
  cpSync(APP_FILES, app, { recursive: true });
  return app;
}

/** A child in `app` whose stdout lines are JSON; `next()` waits for the next one. */
class AppProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  readonly #lines: string[] = [];
  #waiting: (() => void) | undefined;
  stderr = '';

  constructor(app: string, args: readonly string[], extraEnv: NodeJS.ProcessEnv = {}) {
    this.child = spawn(process.execPath, args, {
      cwd: app,
      env: { ...env, ...extraEnv },
      timeout: 2 * TIMEOUT_MS,
    });
    this.exited = once(this.child, 'exit').then(([code]) => code as number | null);
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      this.#lines.push(line);
      this.#waiting?.();
    });
    this.child.stderr!.setEncoding('utf8').on('data', (text: string) => {
      this.stderr += text;
    });
  }

  async next<T>(): Promise<T> {
    const deadline = Date.now() + TIMEOUT_MS;
    while (this.#lines.length === 0) {
      if (this.child.exitCode !== null || Date.now() > deadline) {
        throw new Error(`no output from ${this.child.spawnargs.join(' ')}\nstderr: ${this.stderr}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 200);
        this.#waiting = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    return JSON.parse(this.#lines.shift()!) as T;
  }

  /** Writes a line on its stdin (the apps close on it) and waits for it to exit. */
  end(): Promise<number | null> {
    this.child.stdin!.write('\n');
    return this.exited;
  }
}

function get(port: number, urlPath = '/'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: urlPath, agent: false }, (response) => {
        let body = '';
        response.setEncoding('utf8').on('data', (chunk: string) => {
          body += chunk;
        });
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

/** Sends `text` over TCP and resolves with the first `replyLength` characters that come back. */
async function tcpRequest(port: number, text: string, replyLength = text.length): Promise<string> {
  const socket = net.connect(port, '127.0.0.1');
  socket.setEncoding('utf8');
  let received = '';
  socket.on('data', (chunk: string) => {
    received += chunk;
    if (received.length >= replyLength) socket.end();
  });
  // Bounded: a server that never answers ends the wait with what came so far.
  socket.setTimeout(10_000, () => socket.destroy());
  socket.write(text);
  await once(socket, 'close');
  return received;
}

async function udpRoundTrip(port: number, text: string): Promise<string> {
  const socket = dgram.createSocket('udp4');
  try {
    socket.send(text, port, '127.0.0.1');
    const [reply] = (await Promise.race([
      once(socket, 'message'),
      new Promise((_, reject) => setTimeout(() => reject(new Error('no UDP reply in 5 s')), 5_000)),
    ])) as [Buffer];
    return reply.toString('utf8');
  } finally {
    socket.close();
  }
}

/** HTTP, TCP and UDP from the plain-JavaScript app, then its stats and a clean close. */
async function embedded(app: string): Promise<string> {
  const server = new AppProcess(app, ['server.mjs']);
  try {
    const ports = await server.next<{ http: number; tcp: number; udp: number }>();
    const page = await get(ports.http, '/hello');
    assert(
      page.status === 200 && /^GET \/hello served by shard [01]\n$/.test(page.body),
      `HTTP: ${page.body}`,
    );
    assert((await tcpRequest(ports.tcp, 'echo me')) === 'echo me', 'TCP echo');
    assert((await udpRoundTrip(ports.udp, 'shout')) === 'SHOUT', 'UDP reply');
    server.child.stdin!.write('stats\n');
    const total = await server.next<{ requests: number; adopted: number; handlerErrors: number }>();
    assert(
      total.requests === 1 && total.adopted >= 2 && total.handlerErrors === 0,
      `stats: ${JSON.stringify(total)}`,
    );
    const code = await server.exited;
    assert(code === 0, `exit code ${code}; stderr: ${server.stderr}`);
    assert(server.stderr === '', `it printed on stderr: ${server.stderr}`);
    return `stats: ${total.requests} request, ${total.adopted} connections adopted`;
  } finally {
    server.child.kill();
  }
}

/** Whether raw-socket can load on this Node from `app`: a binary built at install, or a prebuilt one. */
function rawSocketBinary(app: string): string | undefined {
  const rawSocket = path.join(app, 'node_modules', 'raw-socket');
  if (!existsSync(rawSocket)) return undefined;
  if (existsSync(path.join(rawSocket, 'build', 'Release', 'raw_socket.node'))) return 'built at install';
  const prebuilds = path.join(rawSocket, 'prebuilds', `linux-${process.arch}`);
  const abi = `abi${process.versions.modules}.glibc.node`;
  const prebuilt = existsSync(prebuilds) && readdirSync(prebuilds).some((file) => file.endsWith(abi));
  return prebuilt ? `its prebuilt ${abi}` : undefined;
}

async function icmp(app: string): Promise<string> {
  const binary = rawSocketBinary(app);
  const server = new AppProcess(app, ['serve-one.mjs', './handlers/ping.mjs', 'icmp']);
  try {
    const started = await server.next<{ port?: number; error?: string; message?: string }>();
    if (binary === undefined) {
      assert(
        started.error === 'ERR_ICMP_UNAVAILABLE',
        `expected ERR_ICMP_UNAVAILABLE, got ${JSON.stringify(started)}`,
      );
      return 'no raw-socket binary for this Node: start() fails with ERR_ICMP_UNAVAILABLE, as it should';
    }
    if (process.getuid?.() !== 0) {
      assert(
        started.error === 'ERR_ICMP_PERMISSION',
        `expected ERR_ICMP_PERMISSION, got ${JSON.stringify(started)}`,
      );
      return `raw-socket (${binary}) loads; not root, so ERR_ICMP_PERMISSION`;
    }
    assert(started.port !== undefined, `start() failed: ${JSON.stringify(started)}`);
    const page = await get(started.port);
    assert(page.body === '{"received":1}', `ping: ${page.status} ${page.body}`);
    assert((await server.end()) === 0, 'exit code');
    return `raw-socket (${binary}) pings 127.0.0.1 from a shard`;
  } finally {
    server.child.kill();
  }
}

/** tsx's loader from this checkout's dev dependencies (a user would `npm install -D tsx`). */
const TSX_LOADER = pathToFileURL(path.join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
const nodeStripsTypes = typeof (process.features as { typescript?: unknown }).typescript === 'string';

async function typeScriptHandler(app: string): Promise<string> {
  const plain = new AppProcess(app, ['serve-one.mjs', './handlers/hello.ts']);
  try {
    const started = await plain.next<{ port?: number; error?: string; message?: string }>();
    if (nodeStripsTypes) {
      assert(started.port !== undefined, `start() failed: ${JSON.stringify(started)}`);
      const page = await get(started.port);
      assert(/^hello from TypeScript on shard [01]\n$/.test(page.body), `body: ${page.body}`);
      await plain.end();
      return `Node ${process.version} strips the types itself`;
    }
    assert(started.error === 'ERR_HANDLER_LOAD', `expected ERR_HANDLER_LOAD, got ${JSON.stringify(started)}`);
    assert(started.message?.includes('run your program under tsx') === true, `advice: ${started.message}`);
  } finally {
    plain.child.kill();
  }
  const underTsx = new AppProcess(app, ['--import', TSX_LOADER, 'serve-one.mjs', './handlers/hello.ts']);
  try {
    const started = await underTsx.next<{ port?: number; error?: string; message?: string }>();
    assert(started.port !== undefined, `under tsx, start() failed: ${JSON.stringify(started)}`);
    const page = await get(started.port);
    assert(/^hello from TypeScript on shard [01]\n$/.test(page.body), `body: ${page.body}`);
    await underTsx.end();
    return `Node ${process.version}: ERR_HANDLER_LOAD that says to use tsx; under tsx the shards load it`;
  } finally {
    underTsx.child.kill();
  }
}

async function consumerTypes(app: string): Promise<string> {
  const config = JSON.parse(readFileSync(path.join(app, 'tsconfig.json'), 'utf8')) as {
    compilerOptions: Record<string, unknown>;
  };
  config.compilerOptions.typeRoots = [path.join(ROOT, 'node_modules', '@types')];
  writeFileSync(path.join(app, 'tsconfig.json'), JSON.stringify(config, null, 2));
  const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  try {
    await run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: app, env });
  } catch (error) {
    throw new Error(`tsc: ${(error as { stdout?: string }).stdout ?? error}`);
  }
  return 'strict, exactOptionalPropertyTypes, noUncheckedIndexedAccess, skipLibCheck off';
}

/** What a served module or example must answer, given its port; resolves with a few words to report. */
type Probe = (port: number) => Promise<string>;

const httpProbe: Probe = async (port) => {
  const page = await get(port);
  assert(page.status === 200, `status ${page.status}`);
  return page.body.trim();
};

/** A bundled example, and how to see it serve. */
const EXAMPLES: readonly (readonly [string, Probe])[] = [
  ['http-hello', httpProbe],
  ['http-fast', httpProbe],
  ['tcp-echo', async (port) => `echoed ${await tcpRequest(port, 'bytes')}`],
  [
    'resp-server',
    async (port) => {
      const reply = await tcpRequest(port, '*1\r\n$4\r\nPING\r\n', '+PONG\r\n'.length);
      assert(reply === '+PONG\r\n', `PING: ${JSON.stringify(reply)}`);
      return 'PING: +PONG';
    },
  ],
  ['udp-dns', async () => 'listening'],
];

/**
 * `npx sockshard serve <target>`: it must print where it listens, answer `probe`, and close gracefully on
 * SIGTERM sent to its process group, as a terminal's Ctrl-C reaches npx and the command it runs alike.
 */
async function cliServe(
  app: string,
  target: string,
  probe: Probe,
  extraEnv: NodeJS.ProcessEnv = {},
): Promise<string> {
  const child = spawn('npx', ['sockshard', 'serve', target, '--port', '0', '--shards', '2'], {
    cwd: app,
    env: { ...env, ...extraEnv },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const group = -child.pid!;
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => {
    stdout += text;
  });
  child.stderr.setEncoding('utf8').on('data', (text: string) => {
    stderr += text;
  });
  // 'close': every process of the group that held the output pipes has exited.
  const closed = once(child, 'close');
  try {
    const deadline = Date.now() + TIMEOUT_MS;
    const listening = /listening on [a-z]+:\/\/127\.0\.0\.1:(\d+)/;
    for (;;) {
      if (listening.test(stdout)) break;
      assert(
        child.exitCode === null && Date.now() < deadline,
        `no listening line\nstdout: ${stdout}\nstderr: ${stderr}`,
      );
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const answer = await probe(Number(stdout.match(listening)![1]));
    process.kill(group, 'SIGTERM');
    await closed;
    assert(/ closed\n$/.test(stdout), `no graceful close\nstdout: ${stdout}\nstderr: ${stderr}`);
    assert(stderr === '', `it printed on stderr: ${stderr}`);
    return answer;
  } finally {
    try {
      process.kill(group, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

interface BenchJson {
  contenders: { name: string; requestsPerSecond: number; cpuMicrosPerRequest: number; errors: number }[];
  ratios: Record<string, number>;
}

async function cliBench(app: string): Promise<string> {
  const { stdout } = await run(
    'npx',
    ['sockshard', 'bench', './handlers/http.mjs', '--quick', '--json', '--shards', '2'],
    {
      cwd: app,
      env,
      timeout: 3 * TIMEOUT_MS,
      maxBuffer: 16 << 20,
    },
  );
  const report = JSON.parse(stdout) as BenchJson;
  assert(
    report.contenders.map((contender) => contender.name).join() === 'sockshard,cluster,http',
    `contenders: ${stdout}`,
  );
  for (const contender of report.contenders) {
    assert(
      contender.requestsPerSecond > 0 && contender.cpuMicrosPerRequest > 0,
      `${contender.name}: ${stdout}`,
    );
  }
  assert(Number.isFinite(report.ratios.throughputVsCluster), 'ratios');
  return report.contenders.map((c) => `${c.name} ${Math.round(c.requestsPerSecond)}/s`).join(', ');
}

console.log(`pack-check on Node ${process.version}, in ${work}`);
const tarball = await pack();
console.log(`tarball: ${tarball}`);

for (const [name, ignoreScripts] of [
  ['app-scripts', false],
  ['app-no-scripts', true],
] as const) {
  const label = ignoreScripts ? 'install scripts off' : 'install scripts on';
  let app = '';
  const installed = await check(
    `npm install of the tarball with no compiler, make or python (${label})`,
    async () => {
      app = await install(tarball, name, ignoreScripts);
      const sockshard = path.join(app, 'node_modules', 'sockshard');
      assert(
        !existsSync(path.join(sockshard, 'build')),
        'sockshard was compiled: the prebuilt addon did not fit',
      );
      assert(existsSync(path.join(sockshard, 'prebuilds', 'linux-x64')), 'no prebuilt addon in the package');
      return `raw-socket: ${rawSocketBinary(app) ?? 'no binary for this Node'}`;
    },
  );
  if (!installed) continue;
  await check(`a plain-JS app serves HTTP, TCP and UDP, reads stats() and closes (${label})`, () =>
    embedded(app),
  );
  await check(`engine.icmp() works or fails typed, as raw-socket allows (${label})`, () => icmp(app));
  if (ignoreScripts) continue;
  await check('a TypeScript handler module loads, or says what to do', () => typeScriptHandler(app));
  await check('strict tsc --noEmit over a TypeScript consumer, against the installed types', () =>
    consumerTypes(app),
  );
  await check('npx sockshard serve ./handlers/http.mjs', () =>
    cliServe(app, './handlers/http.mjs', httpProbe),
  );
  for (const [example, probe] of EXAMPLES) {
    await check(`npx sockshard serve ${example} (a bundled example, as JavaScript)`, () =>
      cliServe(app, example, probe),
    );
  }
  if (!nodeStripsTypes) {
    await check("NODE_OPTIONS='--import tsx' npx sockshard serve ./handlers/hello.ts", () =>
      cliServe(app, './handlers/hello.ts', httpProbe, { NODE_OPTIONS: `--import ${TSX_LOADER}` }),
    );
  } else {
    await check('npx sockshard serve ./handlers/hello.ts', () =>
      cliServe(app, './handlers/hello.ts', httpProbe),
    );
  }
  await check('npx sockshard bench ./handlers/http.mjs --quick --json', () => cliBench(app));
}

rmSync(work, { recursive: true, force: true });
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed === 0 ? 0 : 1;
