/**
 * udp-dns: a tiny DNS responder with `engine.udp`: it answers every A query with 127.0.0.1 (TTL 60),
 * other types with an empty answer, malformed queries with FORMERR, and stays silent for what is not a
 * query at all (see udp-dns/dns-message.ts). Every shard serves the one port (`reusePort`: each binds it
 * with SO_REUSEPORT and the kernel spreads clients by address and port); without it a port belongs to one
 * shard, which is how to give many ports to many shards.
 *
 *   npx tsx examples/udp-dns.ts [--port 5300] [--shards N] [--host IP] [--stats S]   (= sockshard serve udp-dns)
 *   dig @127.0.0.1 -p 5300 example.test A +short
 */
import { besideExample, type ExampleOptions, type RunningExample } from '../src/cli/example.js';
import { isMain, runExample } from '../src/cli/program.js';
import { createEngine } from '../src/index.js'; // in your project: from 'sockshard'

export const DEFAULT_PORT = 5300;

export async function start(options: ExampleOptions = {}): Promise<RunningExample> {
  const host = options.host ?? '127.0.0.1';
  const engine = createEngine(options.engine).udp({
    host,
    ports: [options.port ?? DEFAULT_PORT],
    handler: besideExample('./udp-dns/handler.js', import.meta.url),
    reusePort: true,
    // A DNS message over UDP is at most 512 bytes without EDNS; allow EDNS-sized queries, drop the rest.
    maxDatagram: 4_096,
  });
  await engine.start();
  return { engine, protocol: 'udp', host, port: engine.udpPorts()[0]!.port };
}

if (isMain(import.meta.url)) process.exitCode = await runExample('udp-dns', start);
