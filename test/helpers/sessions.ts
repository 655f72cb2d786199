import { once } from 'node:events';
import net from 'node:net';
import { closed } from './sockets.js';

/** A connection to the mortal-tcp fixture handler, which knows the shard that serves it. */
export interface Session {
  readonly socket: net.Socket;
  readonly shard: number;
  /** Writes `text` and resolves with the next chunk the shard sends back. */
  ask(text: string): Promise<string>;
}

/** Opens a session (sending `prelude` first: a PROXY protocol header, say) and asks which shard serves it. */
export async function session(port: number, prelude = ''): Promise<Session> {
  const socket = net.connect(port, '127.0.0.1');
  socket.setEncoding('utf8');
  if (prelude !== '') socket.write(prelude);
  const ask = async (text: string) => {
    socket.write(text);
    const [reply] = (await once(socket, 'data')) as [string];
    return reply;
  };
  const shard = Number((await ask('whoami')).trim());
  return { socket, shard, ask };
}

/** Sessions until there is one on each of the two shards (with round-robin, within a few). */
export async function oneOnEach(port: number, prelude = ''): Promise<readonly [Session, Session]> {
  const sessions: Session[] = [];
  while (!(sessions.some((s) => s.shard === 0) && sessions.some((s) => s.shard === 1))) {
    if (sessions.length === 6)
      throw new Error(`6 sessions, shards ${sessions.map((s) => s.shard).join(',')}`);
    sessions.push(await session(port, prelude));
  }
  const first = (shard: number) => sessions.find((s) => s.shard === shard)!;
  for (const extra of sessions.filter((s) => s !== first(0) && s !== first(1))) extra.socket.destroy();
  return [first(0), first(1)] as const;
}

/** Sends a command that ends the session's shard ("exit", "oom") and waits for the connection to close. */
export async function kill(victim: { socket: net.Socket }, command: 'exit' | 'oom'): Promise<void> {
  const victimClosed = closed(victim.socket);
  victim.socket.write(command);
  await victimClosed;
}
