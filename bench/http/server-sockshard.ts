/**
 * A sockshard HTTP server for bench/http.ts: `server-sockshard.ts '{"shards":2,"balance":"kernel"}'`
 * (`handoff` too; `"api":"fast"` serves the app on the fast HTTP path).
 */
import { type BalanceStrategy, createEngine } from '../../src/index.js';
import { announce } from '../lib/children.js';
import { startEngine } from '../lib/engine.js';

const config = JSON.parse(process.argv[2]!) as {
  readonly shards: number;
  readonly balance?: BalanceStrategy;
  readonly handoff?: 'native' | 'transfer';
  readonly api?: 'fast';
};
const engine = createEngine({ shards: config.shards, handoff: config.handoff ?? 'native' });
engine.http({
  host: '127.0.0.1',
  port: 0,
  balance: config.balance ?? 'least-connections',
  ...(config.api === 'fast'
    ? { api: 'fast', handler: new URL('./sockshard-fast-app.ts', import.meta.url) }
    : { handler: new URL('./sockshard-app.ts', import.meta.url) }),
});
await startEngine(engine);
announce({ port: engine.addresses()[0]!.port }, () => engine.close({ timeoutMs: 1_000 }));
