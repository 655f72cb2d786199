/**
 * The process hand-over, both sides. A predecessor (the running engine) serves a Unix SOCK_SEQPACKET
 * socket at `handover.path`; a successor (a new process of the same application, say after an upgrade of
 * the application, sockshard or Node) connects there when it starts:
 *
 *   successor                                   predecessor
 *   hello { version, pid }            ──►       health: draining
 *                                     ◄──       sockets [{ key, configuredPort }] + their fds (SCM_RIGHTS),
 *                                               in batches of at most SCM_MAX_FDS
 *                                     ◄──       offered { version, pid }
 *   starts its shards, serves on the
 *   sockets it claimed (both accept now)
 *   serving { pid }                   ──►       stops accepting, drains, closes
 *
 * The listening sockets never close (each process holds its own descriptor of the same socket), so the
 * kernel refuses no connection: until the predecessor stops, whichever process accepts first serves a
 * connection. If the successor fails or goes away before it serves, the predecessor serves on (health
 * back to ready) and reports a HandoverError. Threading: coordinator only.
 */
import { HandoverError } from '../errors.js';
import {
  ACCEPTED_FD,
  ACCEPTED_STRIDE,
  type AcceptHandle,
  close,
  startAccepting,
  stopAccepting,
  unixConnect,
} from '../native/binding.js';
import { HandoverChannel } from './handover-channel.js';
import { describeInherited, type InheritedSocket, type SocketKey } from './inherited-sockets.js';

/** Bumped when a message changes meaning: a successor and a predecessor must speak the same one. */
export const HANDOVER_VERSION = 1;

/** At most this many sockets per message: the kernel's SCM_MAX_FD (253), with room to spare. */
const SOCKETS_PER_MESSAGE = 250;

/** A socket the predecessor offers: its role, and the port its listener asked for (0: the kernel's pick). */
export interface OfferedSocket {
  readonly key: SocketKey;
  readonly fd: number;
  readonly configuredPort: number;
}

interface SocketNote {
  readonly key: SocketKey;
  readonly configuredPort: number;
}

type SuccessorMessage =
  | { readonly type: 'hello'; readonly version: number; readonly pid: number }
  | { readonly type: 'serving'; readonly pid: number };

type PredecessorMessage =
  | { readonly type: 'sockets'; readonly sockets: readonly SocketNote[] }
  | { readonly type: 'offered'; readonly version: number; readonly pid: number }
  | { readonly type: 'refused'; readonly reason: string };

/** What the predecessor's engine does at each step. */
export interface HandoverHost {
  /** A successor asks: undefined to begin (the engine turns to draining), or why not now. */
  begin(): string | undefined;
  /** Every socket to offer, with its role. The fds stay the engine's. */
  offer(): readonly OfferedSocket[];
  /** The successor serves: stop accepting and close. */
  serving(successorPid: number): void;
  /** The hand-over that `begin` started will not happen: serve on. */
  aborted(error: HandoverError): void;
}

/**
 * The predecessor's side: accepts successors on the hand-over socket (which it owns, bound or inherited),
 * one hand-over at a time.
 */
export class HandoverServer {
  readonly path: string;
  readonly #fd: number;
  readonly #host: HandoverHost;
  readonly #out = new Int32Array(4 * ACCEPTED_STRIDE);
  #accepting: AcceptHandle | undefined;
  #session: HandoverChannel | undefined;

  constructor(fd: number, path: string, host: HandoverHost) {
    this.#fd = fd;
    this.path = path;
    this.#host = host;
  }

  /** The listening Unix socket, for a hand-over to pass on (the successor serves the same path). */
  get fd(): number {
    return this.#fd;
  }

  start(): void {
    this.#accepting = startAccepting(this.#fd, this.#out, (count) => {
      for (let i = 0; i < count; i++) this.#accepted(this.#out[i * ACCEPTED_STRIDE + ACCEPTED_FD]!);
    });
  }

  /** Stops accepting successors and closes the socket (not the path: a successor may serve it now). */
  close(): void {
    if (this.#accepting !== undefined) stopAccepting(this.#accepting);
    this.#accepting = undefined;
    try {
      close(this.#fd);
    } catch {}
  }

  /** Ends a hand-over in progress (this engine is closing anyway). */
  endSession(): void {
    this.#session?.close();
    this.#session = undefined;
  }

  #accepted(fd: number): void {
    const channel = new HandoverChannel(fd);
    let successor = -1;
    let serving = false;
    const refuse = (reason: string) => {
      try {
        channel.send({ type: 'refused', reason } satisfies PredecessorMessage);
      } catch {}
      channel.close();
    };
    channel.receive(
      ({ body, fds }) => {
        for (const extra of fds) close(extra); // a successor sends none
        const message = body as SuccessorMessage;
        if (message.type === 'hello' && successor < 0) {
          if (message.version !== HANDOVER_VERSION) {
            refuse(
              `this process speaks hand-over version ${HANDOVER_VERSION}, the successor ${message.version}`,
            );
            return;
          }
          if (this.#session !== undefined) {
            refuse('another hand-over is in progress');
            return;
          }
          const reason = this.#host.begin();
          if (reason !== undefined) {
            refuse(reason);
            return;
          }
          successor = message.pid;
          this.#session = channel;
          try {
            this.#offer(channel);
          } catch (error) {
            this.#abort(channel, `the offer could not be sent: ${(error as Error).message}`, error);
          }
        } else if (message.type === 'serving' && channel === this.#session) {
          serving = true;
          this.#host.serving(successor);
        }
      },
      (error) => {
        if (channel !== this.#session) {
          channel.close();
          return;
        }
        if (serving) return; // the engine ends the session as it closes
        this.#abort(channel, `successor ${successor} went away before it served`, error);
      },
    );
  }

  #offer(channel: HandoverChannel): void {
    const offered = this.#host.offer();
    for (let i = 0; i < offered.length; i += SOCKETS_PER_MESSAGE) {
      const batch = offered.slice(i, i + SOCKETS_PER_MESSAGE);
      channel.send(
        {
          type: 'sockets',
          sockets: batch.map(({ key, configuredPort }) => ({ key, configuredPort })),
        } satisfies PredecessorMessage,
        batch.map(({ fd }) => fd),
      );
    }
    channel.send({
      type: 'offered',
      version: HANDOVER_VERSION,
      pid: process.pid,
    } satisfies PredecessorMessage);
  }

  #abort(channel: HandoverChannel, message: string, cause?: unknown): void {
    channel.close();
    if (this.#session === channel) this.#session = undefined;
    this.#host.aborted(new HandoverError(this.path, message, cause));
  }
}

/** What a successor received from its predecessor. */
export interface Predecessor {
  readonly pid: number;
  /** The TCP and UDP sockets, for the listeners to claim (see InheritedSockets). */
  readonly sockets: readonly InheritedSocket[];
  /**
   * The predecessor's hand-over socket, if it was offered and serves `path`, for this engine to serve next:
   * the caller owns it from this call on (until then `abandon` closes it).
   */
  takeHandoverSocket(): number | undefined;
  /** Tells the predecessor that this engine serves (it then stops and closes), and ends the channel. */
  serving(): void;
  /** Ends the channel without serving (this engine failed to start): the predecessor serves on. */
  abandon(): void;
}

/**
 * The successor's side, at `start()`: takes the sockets over from the engine serving `path`. Resolves
 * undefined when nothing serves there (no file: `stale` false; a socket file nobody listens on: `stale`
 * true, to unlink before binding the path). Rejects with a HandoverError when a predecessor is there but
 * the exchange fails or takes longer than `timeoutMs`; every descriptor received is closed then.
 */
export async function takeOver(
  path: string,
  timeoutMs: number,
): Promise<{ readonly predecessor?: Predecessor; readonly stale: boolean }> {
  let fd: number;
  try {
    fd = unixConnect(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { stale: false };
    if (code === 'ECONNREFUSED') return { stale: true };
    throw new HandoverError(path, `could not connect: ${(error as Error).message}`, error);
  }
  const channel = new HandoverChannel(fd);
  const sockets: InheritedSocket[] = [];
  let handoverFd: number | undefined;
  const release = () => {
    for (const socket of sockets.splice(0)) close(socket.fd);
    if (handoverFd !== undefined) close(handoverFd);
    handoverFd = undefined;
    channel.close();
  };
  try {
    const pid = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new HandoverError(path, `no complete offer within ${timeoutMs} ms`)),
        timeoutMs,
      );
      const fail = (error: HandoverError) => {
        clearTimeout(timer);
        reject(error);
      };
      channel.receive(
        ({ body, fds }) => {
          const message = body as PredecessorMessage;
          if (
            message.type === 'sockets' &&
            Array.isArray(message.sockets) &&
            message.sockets.length === fds.length
          ) {
            message.sockets.forEach((note, i) => {
              const fd = fds[i]!;
              if (note.key === 'handover') {
                const description = describeInherited(fd);
                if (
                  description?.family === 'unix' &&
                  description.address === path &&
                  handoverFd === undefined
                )
                  handoverFd = fd;
                else if (description !== undefined) close(fd);
                return;
              }
              const description = describeInherited(fd);
              if (description === undefined) return;
              sockets.push({
                fd,
                origin: 'handover',
                description,
                key: note.key,
                configuredPort: note.configuredPort,
              });
            });
          } else if (message.type === 'offered') {
            if (message.version !== HANDOVER_VERSION) {
              fail(
                new HandoverError(
                  path,
                  `the predecessor speaks version ${message.version}, this process ${HANDOVER_VERSION}`,
                ),
              );
              return;
            }
            clearTimeout(timer);
            resolve(message.pid);
          } else if (message.type === 'refused') {
            fail(new HandoverError(path, `the predecessor refused: ${message.reason}`));
          } else {
            for (const extra of fds) close(extra);
            fail(new HandoverError(path, `unexpected message ${JSON.stringify(body).slice(0, 80)}`));
          }
        },
        (error) => fail(new HandoverError(path, 'the predecessor went away during the offer', error)),
      );
      channel.send({ type: 'hello', version: HANDOVER_VERSION, pid: process.pid } satisfies SuccessorMessage);
    });
    return {
      stale: false,
      predecessor: {
        pid,
        sockets,
        takeHandoverSocket() {
          const fd = handoverFd;
          handoverFd = undefined;
          return fd;
        },
        serving() {
          try {
            channel.send({ type: 'serving', pid: process.pid } satisfies SuccessorMessage);
          } finally {
            channel.close();
          }
        },
        abandon() {
          if (handoverFd !== undefined) close(handoverFd);
          handoverFd = undefined;
          channel.close();
        },
      },
    };
  } catch (error) {
    release();
    throw error instanceof HandoverError ? error : new HandoverError(path, (error as Error).message, error);
  }
}
