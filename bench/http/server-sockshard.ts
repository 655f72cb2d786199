/**
 * sockshard: one engine with `--shards N` shards and one HTTP listener with `--balance` strategy, serving the
 * benchmark app (sockshard-app.ts) in every shard. Engine events that signal trouble are counted (and the
 * first few printed) so that the benchmark reports them next to the figures.
 */
import { parseArgs } from 'node:util';
import { type BalanceStrategy, createEngine } from '../../src/index.js';
import { spareStandingBy } from '../lib/engine.js';
import { runServerChild } from './server-child.js';

const { values } = parseArgs({
  options: { shards: { type: 'string' }, balance: { type: 'string' }, handoff: { type: 'string' } },
  strict: true,
});
const MAX_LOGGED = 5;

runServerChild(async () => {
  const balance = (values.balance ?? 'least-connections') as BalanceStrategy;
  const handoff = (values.handoff ?? 'native') as 'native' | 'transfer';
  const engine = createEngine({ shards: Number(values.shards), handoff });
  let engineErrors = 0;
  let unexpectedShardExits = 0;
  let logged = 0;
  let stopping = false;
  const log = (text: string) => {
    if (logged++ < MAX_LOGGED) console.error(`[sockshard ${balance}] ${text}`);
  };
  engine.on('error', (error) => {
    engineErrors++;
    log(`engine error ${error.code}: ${error.message}`);
  });
  engine.on('handler-error', (error) => log(`handler error in shard ${error.shardId}: ${error.message}`));
  engine.on('shard-exit', (shardId, exitCode) => {
    if (stopping) return;
    unexpectedShardExits++;
    log(`shard ${shardId} exited with ${exitCode}`);
  });
  engine.http({
    host: '127.0.0.1',
    port: 0,
    handler: new URL('./sockshard-app.ts', import.meta.url),
    balance,
  });
  await engine.start();
  await spareStandingBy(engine);
  return {
    port: engine.addresses()[0]!.port,
    pids: [process.pid],
    counters: () => {
      const stats = engine.stats();
      return {
        requests: stats.shards.map((shard) => shard.requests),
        connections: stats.shards.map((shard) => shard.handedOff + shard.accepted),
        problems: {
          handlerErrors: stats.total.handlerErrors,
          socketErrors: stats.total.socketErrors,
          adoptFailed: stats.total.adoptFailed,
          dropped: stats.listeners.reduce((sum, listener) => sum + listener.dropped, 0),
          engineErrors,
          unexpectedShardExits,
        },
      };
    },
    stop: async () => {
      stopping = true;
      await engine.close({ timeoutMs: 1_000 });
    },
  };
});
