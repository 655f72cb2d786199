/**
 * The repository's benchmarks: the one list that `npm run bench` (bench/all.ts) runs, in this order, and
 * that `sockshard bench` offers. Each is a script `bench/<name>.ts` (run it alone with `npm run
 * bench:<name>`), run from a clone of the repository, that writes `bench/results/<name>.json` in the one
 * report schema described in bench/README.md. Adding a benchmark means adding it here.
 *
 * ```ts
 * import { BENCHMARKS, findBenchmark } from './benchmarks.js';
 * for (const { name, summary } of BENCHMARKS) console.log(`${name}: ${summary}`);
 * findBenchmark('http')?.script; // 'bench/http.ts'
 * ```
 */

export interface BenchmarkEntry {
  /** `npm run bench:<name>`, `sockshard bench <name>`, `bench/results/<name>.json`. */
  readonly name: string;
  /** One line for `--help` and the report. */
  readonly summary: string;
  /** The script, relative to the repository root. */
  readonly script: string;
  /** What the full set of contenders needs here; without it those contenders are skipped, saying why. */
  readonly needs: readonly string[];
}

export const BENCHMARKS = [
  {
    name: 'ring',
    summary:
      'the SharedArrayBuffer ring across two threads against postMessage and ringbuf.js; wake-up round trip',
    script: 'bench/ring.ts',
    needs: [],
  },
  {
    name: 'http',
    summary:
      'HTTP keep-alive, connection churn and a CPU-heavy handler, node:http and fast paths, against node:http, node:cluster and Bun.serve',
    script: 'bench/http.ts',
    needs: ['wrk', 'taskset', 'bun'],
  },
  {
    name: 'udp',
    summary: 'UDP echo (dgram and batched paths) against node:dgram on one thread',
    script: 'bench/udp.ts',
    needs: ['cc'],
  },
  {
    name: 'icmp',
    summary: 'ICMP echo through the engine against ping -f and fping',
    script: 'bench/icmp.ts',
    needs: ['root', 'ping', 'fping'],
  },
  {
    name: 'offload',
    summary: 'light requests beside CPU-heavy ones, with the work inline and offloaded to the pool',
    script: 'bench/offload.ts',
    needs: [],
  },
  {
    name: 'restart',
    summary: "a dead shard's time back to serving, with the spare worker and cold",
    script: 'bench/restart.ts',
    needs: [],
  },
  {
    name: 'reload',
    summary:
      'requests per second, p99 and failed requests through a rolling reload and a process hand-over, against a node:cluster restart',
    script: 'bench/reload.ts',
    needs: ['wrk'],
  },
  {
    name: 'tls',
    summary:
      'full and resumed TLS handshakes (resumption across shards) and HTTP/2 with many streams against node:cluster and one thread',
    script: 'bench/tls.ts',
    needs: ['h2load'],
  },
] as const satisfies readonly BenchmarkEntry[];

export type BenchmarkName = (typeof BENCHMARKS)[number]['name'];

export const BENCHMARK_NAMES: readonly BenchmarkName[] = BENCHMARKS.map((entry) => entry.name);

export function findBenchmark(name: string): BenchmarkEntry | undefined {
  return BENCHMARKS.find((entry) => entry.name === name);
}

export function isBenchmarkName(name: string): name is BenchmarkName {
  return findBenchmark(name) !== undefined;
}
