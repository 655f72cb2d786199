/**
 * Which benchmarks exist, in the order `npm run bench` runs them and the report lists them, and the
 * adapter that reads each one's JSON. A results JSON of a benchmark not listed here is still reported,
 * after these, through the generic adapter.
 */
import { adaptGeneric } from './generic.js';
import { adaptHttp } from './http.js';
import { adaptIcmp } from './icmp.js';
import { adaptRing } from './ring.js';
import type { Adapter } from './types.js';
import { adaptUdp } from './udp.js';

export const BENCHMARKS = ['ring', 'http', 'udp', 'icmp', 'offload', 'restart'] as const;
export type BenchmarkName = (typeof BENCHMARKS)[number];

const ADAPTERS: Readonly<Record<string, Adapter>> = {
  ring: adaptRing,
  http: adaptHttp,
  icmp: adaptIcmp,
  udp: adaptUdp,
};

export function adapterFor(name: string): Adapter {
  return ADAPTERS[name] ?? ((json) => adaptGeneric(json, name));
}

export function isBenchmarkName(name: string): name is BenchmarkName {
  return (BENCHMARKS as readonly string[]).includes(name);
}
