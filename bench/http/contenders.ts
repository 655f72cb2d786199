/**
 * The servers bench/http.ts measures, in the order it measures them. To add one (another runtime, a C
 * server): a command that serves the app of app.ts on 127.0.0.1 (GET / and GET /cpu, the same bodies, the
 * iteration count from SOCKSHARD_BENCH_CPU_ITERATIONS), prints `{"port": N}` on stdout when it serves
 * (plus `"pids"` if several processes serve), and exits on SIGTERM; then an entry here. Threads that do
 * the serving call `registerThread()` (bench/lib/cpu.ts) to have their CPU reported by name.
 */

import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { canTransferSockets } from '../../src/engine/socket-transfer.js';
import { commandExists, nodeCommand } from '../lib/children.js';

export interface HttpContender {
  readonly name: string;
  readonly description: string;
  /** Starts the server, given the machine's cores. */
  readonly command: (cores: number) => readonly string[];
  /** The CPU role of the first process's main thread: 'coordinator', 'primary', 'main'. */
  readonly mainRole: string;
  /** Why it cannot run here, or null. */
  readonly unavailable?: () => Promise<string | null>;
  /** Only in these scenarios (default: every one). */
  readonly scenarios?: readonly string[];
  /** `taskset -c` lists for the server and the load generator (default: unpinned). */
  readonly serverCpus?: string;
  readonly generatorCpus?: string;
}

const sockshard = (config: object) =>
  nodeCommand(new URL('./server-sockshard.ts', import.meta.url), [JSON.stringify(config)]);
/** The `bun` binary of the npm package `bun` (a devDependency: its postinstall puts the binary there). */
const BUN = fileURLToPath(new URL('../../node_modules/.bin/bun', import.meta.url));
const node = (workers: number) =>
  nodeCommand(new URL('./server-node.ts', import.meta.url), [JSON.stringify({ workers })]);

export const CONTENDERS: readonly HttpContender[] = [
  {
    name: 'sockshard',
    description: "sockshard, a shard per core, balance 'least-connections' (the default)",
    command: (cores) => sockshard({ shards: cores }),
    mainRole: 'coordinator',
  },
  {
    name: 'sockshard-fast',
    description:
      "sockshard's fast HTTP path (api 'fast': the shard owns each fd, llhttp, batched writes), a shard per core",
    command: (cores) => sockshard({ shards: cores, api: 'fast' }),
    mainRole: 'coordinator',
  },
  {
    name: 'sockshard-kernel',
    description: "sockshard, balance 'kernel': a SO_REUSEPORT socket per shard, no coordinator hop",
    command: (cores) => sockshard({ shards: cores, balance: 'kernel' }),
    mainRole: 'coordinator',
  },
  {
    name: 'sockshard-rr',
    description: "sockshard, balance 'round-robin'",
    command: (cores) => sockshard({ shards: cores, balance: 'round-robin' }),
    mainRole: 'coordinator',
  },
  {
    name: 'sockshard-transfer',
    description:
      "sockshard, handoff 'transfer': Node accepts and moves each socket to its shard by postMessage",
    command: (cores) => sockshard({ shards: cores, handoff: 'transfer' }),
    mainRole: 'coordinator',
    unavailable: async () =>
      (await canTransferSockets())
        ? null
        : `Node ${process.version} cannot move a net.Socket to a worker (24+ can)`,
  },
  {
    name: 'node-single',
    description: 'node:http on one thread',
    command: () => node(0),
    mainRole: 'main',
  },
  {
    name: 'node-cluster',
    description: 'node:cluster, a worker per core, default scheduling (the primary accepts and passes on)',
    command: (cores) => node(cores),
    mainRole: 'primary',
  },
  {
    name: 'bun',
    description:
      'Bun.serve (the anchor: a native-core server running a JavaScript handler), a process per core on one port with reusePort',
    command: (cores) => [
      BUN,
      fileURLToPath(new URL('./server-bun.ts', import.meta.url)),
      JSON.stringify({ processes: cores }),
    ],
    mainRole: 'main',
    unavailable: async () => {
      const version = spawnSync(BUN, ['--version'], { encoding: 'utf8' });
      return version.status === 0
        ? null
        : `the bun binary of the npm package bun does not run here (${version.error?.message ?? version.stderr.trim()}): npm install -D bun, with its postinstall script`;
    },
  },
  {
    // The projection's check: one shard with exactly one core, the load generator on the other.
    name: 'sockshard-1core',
    description: 'sockshard with 1 shard, the whole server pinned to core 0 and the load generator to core 1',
    command: () => sockshard({ shards: 1 }),
    mainRole: 'coordinator',
    scenarios: ['keepalive-100', 'churn'],
    unavailable: async () =>
      os.availableParallelism() < 2
        ? 'needs 2 cores'
        : commandExists('taskset')
          ? null
          : 'taskset is not installed (util-linux)',
    serverCpus: '0',
    generatorCpus: '1',
  },
];
