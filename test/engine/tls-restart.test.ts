import tls from 'node:tls';
import { describe, expect, it } from 'vitest';
import { createEngine } from '../../src/index.js';
import { fixtureHandler, portOf } from '../helpers/engine.js';
import { closed, useTeardown } from '../helpers/sockets.js';
import { selfSignedCertificate } from '../helpers/tls.js';

const defer = useTeardown();
const certificate = await selfSignedCertificate('localhost');

/** Sends `line` over a TLS connection (resuming `session` if given); the answer and the session to keep. */
async function say(
  port: number,
  line: string,
  session?: Buffer,
): Promise<{ answer: { shard: number; resumed: boolean } | undefined; session: Buffer | undefined }> {
  const socket = tls.connect({
    port,
    host: '127.0.0.1',
    rejectUnauthorized: false,
    ...(session ? { session } : {}),
  });
  let kept: Buffer | undefined;
  socket.on('session', (s: Buffer) => {
    kept = s;
  });
  socket.on('error', () => {});
  socket.setEncoding('utf8');
  let text = '';
  socket.on('data', (chunk: string) => {
    text += chunk;
  });
  await new Promise((resolve) => socket.once('secureConnect', resolve));
  socket.write(`${line}\n`);
  await closed(socket);
  return { answer: text === '' ? undefined : JSON.parse(text), session: kept };
}

describe('TLS across a shard restart', () => {
  it('a restarted shard (the spare) resumes the tickets the others made: the keys live in shared memory', async () => {
    const engine = createEngine({ shards: 2 }).tls({
      port: 0,
      handler: fixtureHandler('mortal-tls.ts'),
      balance: 'round-robin',
      ...certificate,
    });
    const errors: string[] = [];
    engine.on('error', (error) => errors.push(error.code));
    await engine.start();
    defer(() => engine.close({ timeoutMs: 500 }));
    const port = portOf(engine);
    const first = await say(port, 'hello');
    expect(first.answer).toMatchObject({ resumed: false });
    // The next connection goes to the other shard, which dies.
    await say(port, 'exit');
    await expect
      .poll(() => engine.stats().shards.map((s) => s.restarts))
      .toEqual(first.answer!.shard === 0 ? [0, 1] : [1, 0]);
    // A replacement serves within well under a second on a quiet machine; a loaded CI box may need longer
    // (the spare may still be loading when a shard dies this soon after start).
    await expect.poll(() => engine.stats().shards.every((s) => s.alive), { timeout: 15_000 }).toBe(true);
    expect(errors).toEqual(['ERR_SHARD_EXIT']);
    const answers = [await say(port, 'again', first.session), await say(port, 'again', first.session)];
    expect(answers.map((a) => a.answer)).toEqual(
      expect.arrayContaining([
        { shard: 0, resumed: true },
        { shard: 1, resumed: true },
      ]),
    );
  });
});
