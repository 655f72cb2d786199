import { describe, expect, it } from 'vitest';
import { createEngine, type Engine, type EngineOptions, type SockshardError } from '../../src/index.js';
import { fixtureHandler, portOf } from '../helpers/engine.js';
import { kill, oneOnEach, session } from '../helpers/sessions.js';
import { useTeardown } from '../helpers/sockets.js';
import { UdpClient } from '../helpers/udp.js';

const defer = useTeardown();

/** A started two-shard engine with the mortal TCP handler, round-robin, closed in teardown. */
async function mortalEngine(options: EngineOptions = {}, udpIo?: 'dgram' | 'batched') {
  let engine = createEngine({ shards: 2, ...options }).tcp({
    port: 0,
    handler: fixtureHandler('mortal-tcp.ts'),
    balance: 'round-robin',
  });
  if (udpIo !== undefined) {
    engine = engine.udp({ ports: [0], handler: fixtureHandler('udp-echo.ts'), shardFor: () => 1, io: udpIo });
  }
  const events = collect(engine);
  await engine.start();
  defer(() => engine.close({ timeoutMs: 200 }));
  return { engine, ...events };
}

function collect(engine: Engine) {
  const errors: SockshardError[] = [];
  const online: number[] = [];
  engine.on('error', (error) => errors.push(error));
  engine.on('shard-online', (shardId) => online.push(shardId));
  return { errors, online };
}

const onlineCount = (online: readonly number[], shardId: number) =>
  online.filter((id) => id === shardId).length;
const standingBy = (engine: Engine) =>
  expect.poll(() => engine.stats().spareStandingBy, { timeout: 10_000 }).toBe(true);

describe('supervision', () => {
  it('restarts a shard that exits, from the standing-by spare; the other shard and its connections are untouched', async () => {
    const { engine, errors, online } = await mortalEngine();
    // The spare takes the dead shard's place (bench:restart measures how fast): wait until it stands by.
    await standingBy(engine);
    const [survivor, victim] = await oneOnEach(portOf(engine));
    defer(() => survivor.socket.destroy());
    await kill(victim, 'exit');
    expect(await survivor.ask('still here')).toBe('still here');
    await expect.poll(() => onlineCount(online, 1), { timeout: 3_000 }).toBe(2);
    expect(errors.map((e) => e.code)).toEqual(['ERR_SHARD_EXIT']);
    expect(errors[0]).toMatchObject({ shardId: 1, exitCode: 3 });
    const [again0, again1] = await oneOnEach(portOf(engine));
    defer(() => {
      again0.socket.destroy();
      again1.socket.destroy();
    });
    expect(await again1.ask('back')).toBe('back');
    const stats = engine.stats().shards[1]!;
    expect(stats).toMatchObject({ alive: true, restarts: 1, restartsFromSpare: 1, connectionsLost: 1 });
    expect(engine.stats().shards[0]!.restarts).toBe(0);
  });

  // Batched too: the dead shard's raw fd has no Node handle to close it, so a leak would show in the
  // teardown's fd check.
  it.each(['dgram', 'batched'] as const)(
    "keeps a restarting shard's UDP port open (io %s): datagrams sent while it is down are answered after",
    async (io) => {
      const { engine, online } = await mortalEngine({}, io);
      const [survivor, victim] = await oneOnEach(portOf(engine));
      defer(() => survivor.socket.destroy());
      const client = await UdpClient.open();
      defer(() => client.close());
      const udpPort = engine.udpPorts()[0]!.port;
      // Sent from the 'shard-exit' listener: the coordinator (this thread) restarts the shard only after its
      // listeners have run, so the shard is certainly down while these go into its socket.
      const whileDown = new Promise<{ alive: boolean; restarted: number }>((resolve, reject) => {
        engine.once('shard-exit', () => {
          const sent = Array.from({ length: 20 }, (_, i) => client.send(`while down ${i}`, udpPort));
          const state = { alive: engine.stats().shards[1]!.alive, restarted: onlineCount(online, 1) - 1 };
          Promise.all(sent).then(() => resolve(state), reject);
        });
      });
      await kill(victim, 'exit');
      expect(await whileDown).toEqual({ alive: false, restarted: 0 });
      const replies = await client.receive(20, 5_000);
      expect(replies.map((r) => r.subarray(1).toString())).toEqual(
        Array.from({ length: 20 }, (_, i) => `while down ${i}`),
      );
      expect(replies.every((r) => r[0] === 1)).toBe(true);
      expect(onlineCount(online, 1)).toBe(2);
    },
  );

  it('gives up on a shard past the restart budget, and the other shard serves on', async () => {
    const { engine, errors, online } = await mortalEngine({
      restart: { maxRestarts: 2, windowMs: 60_000, backoffMs: 10 },
    });
    for (let death = 1; death <= 3; death++) {
      // Shard 1 has come online once, then once per restart so far.
      await expect.poll(() => onlineCount(online, 1), { timeout: 3_000 }).toBe(death);
      const [survivor, victim] = await oneOnEach(portOf(engine));
      survivor.socket.destroy();
      await kill(victim, 'exit');
    }
    await expect
      .poll(() => errors.map((e) => e.code), { timeout: 3_000 })
      .toContain('ERR_SHARD_RESTART_BUDGET');
    expect(onlineCount(online, 1)).toBe(3); // the start and two restarts
    expect(engine.stats().shards[1]).toMatchObject({ alive: false, state: 'given-up', connections: 0 });
    expect(engine.state).toBe('degraded');
    // Every new connection now goes to shard 0.
    for (let i = 0; i < 4; i++) {
      const s = await session(portOf(engine));
      expect(s.shard).toBe(0);
      s.socket.destroy();
    }
  });

  it('replaces a dead shard with the spare that stood by, and starts the next spare', async () => {
    const { engine, online } = await mortalEngine();
    await standingBy(engine);
    const [survivor, victim] = await oneOnEach(portOf(engine));
    defer(() => survivor.socket.destroy());
    const killedAt = Date.now();
    await kill(victim, 'exit');
    await expect.poll(() => onlineCount(online, 1), { timeout: 3_000 }).toBe(2);
    // The spare became shard 1 (so none stands by), and a new one is on its way.
    expect(engine.stats().spareStandingBy).toBe(false);
    const [, again1] = await oneOnEach(portOf(engine));
    defer(() => again1.socket.destroy());
    // It had imported the handler before the death: a spare, not a cold start.
    expect(Number(await again1.ask('loaded'))).toBeLessThan(killedAt);
    await standingBy(engine);
  });

  it('keeps no spare with restart: { spare: false }, and restarts cold', async () => {
    // A control engine with the default, started alongside: once its spare stands by, a spare would have
    // been started in the other one too.
    const [control, { engine, online }] = await Promise.all([
      mortalEngine(),
      mortalEngine({ restart: { spare: false } }),
    ]);
    await standingBy(control.engine);
    expect(engine.stats().spareStandingBy).toBe(false);
    const [survivor, victim] = await oneOnEach(portOf(engine));
    defer(() => survivor.socket.destroy());
    const killedAt = Date.now();
    await kill(victim, 'exit');
    await expect.poll(() => onlineCount(online, 1), { timeout: 10_000 }).toBe(2);
    // The replacement imported the handler after the death: no spare was used, because none was kept.
    const [, again1] = await oneOnEach(portOf(engine));
    defer(() => again1.socket.destroy());
    expect(Number(await again1.ask('loaded'))).toBeGreaterThanOrEqual(killedAt);
    expect(engine.stats().spareStandingBy).toBe(false);
    expect(engine.stats().shards[1]).toMatchObject({ restarts: 1, restartsFromSpare: 0 });
  });

  it('restarts a shard that runs out of memory under resourceLimits', async () => {
    const { engine, errors, online } = await mortalEngine({ resourceLimits: { maxOldGenerationSizeMb: 48 } });
    const [survivor, victim] = await oneOnEach(portOf(engine));
    defer(() => survivor.socket.destroy());
    await kill(victim, 'oom');
    await expect.poll(() => onlineCount(online, 1), { timeout: 10_000 }).toBe(2);
    expect(errors[0]).toMatchObject({ code: 'ERR_SHARD_EXIT', shardId: 1 });
    expect(await survivor.ask('fine')).toBe('fine');
  });

  it("turns an error with no 'error' listener into a process warning, and the process lives on", async () => {
    const engine = createEngine({ shards: 2 }).tcp({
      port: 0,
      handler: fixtureHandler('mortal-tcp.ts'),
      balance: 'round-robin',
    });
    const online: number[] = [];
    engine.on('shard-online', (shardId) => online.push(shardId));
    await engine.start();
    defer(() => engine.close({ timeoutMs: 200 }));
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    defer(() => process.off('warning', onWarning));
    expect(engine.listenerCount('error')).toBe(0);
    const [survivor, victim] = await oneOnEach(portOf(engine));
    defer(() => survivor.socket.destroy());
    await kill(victim, 'exit');
    await expect
      .poll(() => warnings.filter((w) => w.name === 'SockshardWarning'), { timeout: 3_000 })
      .toEqual([
        expect.objectContaining({ code: 'ERR_SHARD_EXIT', message: expect.stringContaining('shard 1') }),
      ]);
    await expect.poll(() => onlineCount(online, 1), { timeout: 3_000 }).toBe(2);
    expect(await survivor.ask('alive')).toBe('alive');
  });
});
