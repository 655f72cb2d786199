/**
 * Soak: TCP, HTTP, UDP (both receive paths) and, as root, ICMP traffic for N seconds while faults are
 * injected in turn (a shard killed, slowloris, a connection flood past maxConnections, throwing handlers,
 * oversized datagrams, random bytes to every TCP port). A well-behaved client asks every 100 ms and must
 * be answered within its timeout throughout, except just after a shard it was using died. Then a phase
 * on an engine of its own spends a shard's restart budget under load (soak/budget-fault.ts). Prints a
 * summary; exits non-zero if the engine failed the client, leaked fds, ended unhealthy, or a phase failed.
 *
 *   npm run soak -- --seconds 30
 */

import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { readdirSync, readlinkSync } from 'node:fs';
import net from 'node:net';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { createEngine, type EngineStats, type SockshardError } from '../src/index.js';
import { spendShardBudget } from './soak/budget-fault.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '30' } } });
const SECONDS = Number(values.seconds);
if (!Number.isFinite(SECONDS) || SECONDS < 5) throw new Error('--seconds must be a number >= 5');
const ROOT = process.getuid?.() === 0;
const app = (name: string) => new URL(`./soak/${name}`, import.meta.url);
const fdTargets = () =>
  readdirSync('/proc/self/fd').map((fd) => {
    try {
      return `${fd} -> ${readlinkSync(`/proc/self/fd/${fd}`)}`;
    } catch {
      return fd; // the directory listing's own fd, gone already
    }
  });
const openFds = () => readdirSync('/proc/self/fd').length;
const fdsBefore = new Set(fdTargets());
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const fdsAtStart = openFds();
const rssAtStart = process.memoryUsage().rss;
const engine = createEngine({
  shards: 2,
  limits: { maxConnections: 300 },
  metrics: { port: 0 },
})
  .http({
    port: 0,
    handler: app('http-app.ts'),
    headersTimeout: 1_000,
    requestTimeout: 2_000,
    connectionsCheckingInterval: 200,
  })
  .tcp({ port: 0, handler: app('tcp-app.ts'), idleTimeoutMs: 5_000 })
  .udp({ ports: [0], handler: app('udp-app.ts'), maxDatagram: 1_200 })
  .udp({ ports: [0], handler: app('udp-app.ts'), maxDatagram: 1_200, io: 'batched' });
if (ROOT) engine.icmp();
const engineErrors: Record<string, number> = {};
engine.on('error', (error: SockshardError) => {
  engineErrors[error.code] = (engineErrors[error.code] ?? 0) + 1;
});
engine.on('handler-error', () => {});
await engine.start();
const httpPort = engine.addresses()[0]!.port;
const tcpPort = engine.addresses()[1]!.port;
const udpPorts = engine.udpPorts().map((p) => p.port);
const base = `http://127.0.0.1:${httpPort}`;
const deadline = performance.now() + SECONDS * 1_000;
const running = () => performance.now() < deadline;
const counts = {
  wellBehavedOk: 0,
  wellBehavedFailed: 0,
  wellBehavedExcused: 0,
  tcpEchoed: 0,
  udpEchoed: 0,
  pings: 0,
};
let lastKill = Number.NEGATIVE_INFINITY;

/** The client whose service must not degrade: one request every 100 ms, 2 s timeout. */
async function wellBehaved(): Promise<void> {
  while (running()) {
    try {
      const response = await fetch(`${base}/`, { signal: AbortSignal.timeout(2_000) });
      await response.text();
      if (response.status === 200) counts.wellBehavedOk++;
      else throw new Error(`status ${response.status}`);
    } catch {
      // A keep-alive connection on a shard that was just killed may fail once; anything else counts.
      if (performance.now() - lastKill < 1_500) counts.wellBehavedExcused++;
      else counts.wellBehavedFailed++;
    }
    await sleep(100);
  }
}

async function tcpTraffic(): Promise<void> {
  while (running()) {
    const socket = net.connect(tcpPort, '127.0.0.1');
    socket.on('error', () => {});
    let expected = 0;
    socket.on('data', (data) => {
      counts.tcpEchoed += Math.min(data.length, expected);
      expected -= data.length;
    });
    while (running() && !socket.destroyed) {
      const payload = randomBytes(512);
      payload[0] = 0x78; // never "ping "
      expected += payload.length;
      socket.write(payload);
      await sleep(20);
    }
    socket.destroy();
  }
}

async function udpTraffic(): Promise<void> {
  const client = dgram.createSocket('udp4');
  client.on('message', () => counts.udpEchoed++);
  await new Promise<void>((resolve) => client.bind(0, '127.0.0.1', resolve));
  while (running()) {
    for (const port of udpPorts)
      for (let i = 0; i < 10; i++) client.send(randomBytes(200), port, '127.0.0.1');
    await sleep(50);
  }
  client.close();
}

async function icmpTraffic(): Promise<void> {
  if (!ROOT) return;
  const socket = net.connect(tcpPort, '127.0.0.1');
  socket.on('error', () => {});
  socket.setEncoding('utf8');
  socket.on('data', (text: string) => {
    for (const match of text.matchAll(/pong (\d+)\//g)) counts.pings += Number(match[1]);
  });
  while (running() && !socket.destroyed) {
    socket.write('ping 20\n');
    await sleep(2_000);
  }
  socket.destroy();
}

const faults: [string, () => Promise<void>][] = [
  [
    'kill a shard',
    async () => {
      lastKill = performance.now();
      await fetch(`${base}/exit`, { headers: { connection: 'close' } }).catch(() => {});
    },
  ],
  [
    'slowloris',
    async () => {
      const sockets = Array.from({ length: 30 }, () =>
        net.connect(httpPort, '127.0.0.1').on('error', () => {}),
      );
      // A valid request, one byte at a time: only the header timeout can end it.
      const request = `GET / HTTP/1.1\r\nHost: soak\r\nX-Slow: ${'a'.repeat(100)}`;
      for (let i = 0; i < 20; i++) {
        for (const socket of sockets) if (!socket.destroyed) socket.write(request[i]!);
        await sleep(150);
      }
      for (const socket of sockets) socket.destroy();
    },
  ],
  [
    'connection flood past maxConnections',
    async () => {
      const sockets = Array.from({ length: 400 }, () =>
        net.connect(tcpPort, '127.0.0.1').on('error', () => {}),
      );
      await sleep(1_000);
      for (const socket of sockets) socket.destroy();
    },
  ],
  [
    'throwing handlers',
    async () => {
      await Promise.all(
        Array.from({ length: 20 }, () =>
          fetch(`${base}/throw`).then(
            (r) => r.text(),
            () => '',
          ),
        ),
      );
    },
  ],
  [
    'oversized datagrams',
    async () => {
      const client = dgram.createSocket('udp4');
      await new Promise<void>((resolve) => client.bind(0, '127.0.0.1', resolve));
      for (let i = 0; i < 500; i++)
        for (const port of udpPorts) client.send(randomBytes(2_000), port, '127.0.0.1');
      await sleep(100);
      client.close();
    },
  ],
  [
    'random bytes to every TCP port',
    async () => {
      const sockets = [httpPort, tcpPort].flatMap((port) =>
        Array.from({ length: 10 }, () => net.connect(port, '127.0.0.1').on('error', () => {})),
      );
      for (const socket of sockets) socket.end(randomBytes(4_096));
      await sleep(300);
      for (const socket of sockets) socket.destroy();
    },
  ],
];
const injected: Record<string, number> = {};
async function faultLoop(): Promise<void> {
  await sleep(1_000);
  for (let i = 0; running(); i++) {
    const [name, fault] = faults[i % faults.length]!;
    injected[name] = (injected[name] ?? 0) + 1;
    await fault();
    await sleep(2_000);
  }
}

const load = new Promise<autocannon.Result>((resolve, reject) => {
  autocannon(
    { url: `${base}/`, connections: 10, duration: SECONDS, workers: 1, timeout: 5 },
    (error, result) => (error === null ? resolve(result) : reject(error)),
  );
});
await Promise.all([wellBehaved(), tcpTraffic(), udpTraffic(), icmpTraffic(), faultLoop(), load]);
const loadResult = await load;
await sleep(1_500); // let the last restart finish
const stats: EngineStats = engine.stats();
const healthy = stats.shards.every((shard) => shard.alive);
await engine.close({ timeoutMs: 2_000 });
let fdsAtEnd = openFds();
for (let i = 0; i < 100 && fdsAtEnd > fdsAtStart; i++) {
  await sleep(20);
  fdsAtEnd = openFds();
}
const rssAtEnd = process.memoryUsage().rss;
// A phase of its own, on an engine of its own: a shard killed past its restart budget under load.
const budgetFault = await spendShardBudget();

const listener = (i: number) => stats.listeners[i]!;
const summary = {
  seconds: SECONDS,
  icmp: ROOT ? 'on' : 'off (not root)',
  served: {
    httpRequests: stats.total.requests,
    autocannon2xx: loadResult['2xx'],
    autocannonErrors: loadResult.errors + loadResult.non2xx,
    tcpBytesEchoed: counts.tcpEchoed,
    udpDatagramsEchoed: counts.udpEchoed,
    pingReplies: counts.pings,
  },
  wellBehavedClient: {
    ok: counts.wellBehavedOk,
    failed: counts.wellBehavedFailed,
    excusedAfterShardKill: counts.wellBehavedExcused,
  },
  faultsInjected: injected,
  errorsByCause: {
    handlerErrors: stats.total.handlerErrors,
    httpTimeouts: stats.total.httpTimeouts,
    httpBadRequests: stats.total.httpBadRequests,
    idleTimeouts: stats.total.idleTimeouts,
    socketErrors: stats.total.socketErrors,
    refusedMaxConnections: listener(0).refusedMaxConnections + listener(1).refusedMaxConnections,
    udpOversized: stats.udp.reduce((n, p) => n + p.oversized, 0),
    udpKernelDrops: stats.udp.reduce((n, p) => n + p.kernelDrops, 0),
    connectionsLost: stats.total.connectionsLost,
    engineErrors,
  },
  restarts: stats.total.restarts,
  shardBudgetPhase: budgetFault.summary,
  healthyAtEnd: healthy,
  fds: { start: fdsAtStart, end: fdsAtEnd },
  rssMiB: { start: Math.round(rssAtStart / 2 ** 20), end: Math.round(rssAtEnd / 2 ** 20) },
};
console.log(JSON.stringify(summary, null, 2));
const problems = [
  counts.wellBehavedFailed > 0 ? `the well-behaved client failed ${counts.wellBehavedFailed} times` : '',
  counts.wellBehavedOk === 0 ? 'the well-behaved client was never served' : '',
  healthy ? '' : 'not every shard was alive at the end',
  fdsAtEnd > fdsAtStart
    ? `fds leaked: ${fdsAtStart} at start, ${fdsAtEnd} after close: ${fdTargets()
        .filter((fd) => !fdsBefore.has(fd))
        .join(', ')}`
    : '',
  ...budgetFault.problems.map((problem) => `shard budget phase: ${problem}`),
].filter(Boolean);
if (problems.length > 0) {
  console.error(`soak FAILED: ${problems.join('; ')}`);
  process.exit(1);
}
console.log('soak passed');
process.exit(0);
