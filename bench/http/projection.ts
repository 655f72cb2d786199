/**
 * What a bigger machine would serve, projected from the CPU per operation measured here: never a
 * measurement, and labelled as one. The model: N shards (or cluster workers) on N cores, the load generator
 * elsewhere, every operation costing the server the CPU it cost here, so N cores serve N / (server CPU per
 * operation); one thread accepts for all (sockshard's coordinator, node:cluster's primary), so connections
 * cannot come faster than 1 / (its CPU per connection), whatever N is. The checks hold the model against
 * what 2 cores can show: one shard given exactly one core, and CPU per operation at 1 and at 2 shards.
 */
import type { ReportBuilder } from '../lib/report.js';
import type { Projection } from '../lib/schema.js';

const CORES = [1, 2, 4, 8, 16, 32, 64];

export function projectHttp(report: ReportBuilder, measuredShards: number): Projection | null {
  const cpu = (scenario: string, contender: string, role = 'server') =>
    report.medianOf(scenario, `cpu.${role}`, contender);
  const rate = (scenario: string, contender: string) => report.medianOf(scenario, 'value', contender);
  const series: Projection['series'] = [];
  const saturation: string[] = [];
  for (const [contender, acceptor] of [
    ['sockshard', 'coordinator'],
    ['node-cluster', 'primary'],
  ] as const) {
    const keepAlive = cpu('keepalive-100', contender);
    if (keepAlive !== null) {
      series.push({
        scenario: 'keepalive-100',
        contender,
        unit: 'req/s',
        values: CORES.map((n) => (n * 1e6) / keepAlive),
        limits: CORES.map(() => 'cores'),
      });
    }
    const perConnection = cpu('churn', contender);
    const accept = cpu('churn', contender, acceptor);
    if (perConnection === null || accept === null) continue;
    const capped = CORES.map((n) => Math.min((n * 1e6) / perConnection, 1e6 / accept));
    series.push({
      scenario: 'churn',
      contender,
      unit: 'conn/s',
      values: capped,
      limits: CORES.map((n, i) => (capped[i]! < (n * 1e6) / perConnection ? acceptor : 'cores')),
    });
    saturation.push(
      `${contender}: the ${acceptor} spends ${accept.toFixed(1)} µs per connection of the server's ${perConnection.toFixed(1)} µs: it saturates at ${(1e6 / accept).toFixed(0)} connections/s, reached from about ${(perConnection / accept).toFixed(1)} cores on.`,
    );
  }
  if (series.length === 0) return null;
  const checks: Projection['checks'] = [];
  for (const scenario of ['keepalive-100', 'churn']) {
    const perOp = cpu(scenario, 'sockshard');
    const oneCore = rate(scenario, 'sockshard-1core');
    const oneCoreCpu = cpu(scenario, 'sockshard-1core');
    const used = report.medianOf(scenario, 'metrics.server_cores', 'sockshard-1core');
    if (perOp === null || oneCore === null || oneCoreCpu === null || used === null) continue;
    checks.push(
      {
        what: `${scenario}: 1 shard on exactly 1 core (op/s)`,
        projected: 1e6 / perOp,
        measured: oneCore,
        note: `from the ${measuredShards}-shard run's CPU per operation; the pinned server used ${used.toFixed(2)} of its core (below 1, something else was the limit: the generator, or other processes on that core)`,
      },
      {
        what: `${scenario}: server CPU per operation, 1 shard against ${measuredShards} (µs)`,
        projected: perOp,
        measured: oneCoreCpu,
        note: 'the model assumes CPU per operation does not change with the number of shards',
      },
    );
  }
  const accept1 = cpu('churn', 'sockshard-1core', 'coordinator');
  const acceptN = cpu('churn', 'sockshard', 'coordinator');
  if (accept1 !== null && acceptN !== null) {
    checks.push({
      what: `churn: coordinator CPU per connection, 1 shard against ${measuredShards} (µs)`,
      projected: acceptN,
      measured: accept1,
      note: "the coordinator's cost per connection must not grow with the shards it feeds",
    });
  }
  return {
    label: 'PROJECTION from CPU per operation measured here (not a measurement)',
    model: [
      'N shards (node:cluster: N workers) on N cores, the load generator on other machines or cores.',
      'Rate at N cores = N / (server CPU per operation measured here), every thread of the server counted.',
      'Connections (churn) are capped by the one thread that accepts them all: 1 / (its CPU per connection); keep-alive requests never reach it.',
      ...saturation,
    ],
    cores: CORES,
    series,
    checks,
    notes: [
      `Tested here up to ${measuredShards} cores only. Beyond that the model leaves out what more cores bring: contention on the listening socket's accept queue and on the balancer's shared counters, cache and memory traffic between cores, interrupts and the network stack of a real NIC, and the kernel's own time on a loaded machine; it also assumes the generator can keep up.`,
      "Read the shape more than the figures: where the acceptor's cap lies against N / (CPU per connection).",
    ],
  };
}
