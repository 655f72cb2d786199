import {
  close,
  recvFds,
  SCM_MAX_FDS,
  sendFds,
  unwatch,
  type WatchHandle,
  watchReadable,
} from '../native/binding.js';

/** The largest message either side sends (a batch of SCM_MAX_FDS socket descriptions fits many times). */
const MAX_MESSAGE_BYTES = 1 << 16;

/** A message and the descriptors that came with it (the receiver's to close). */
export interface ChannelMessage {
  readonly body: unknown;
  readonly fds: readonly number[];
}

/**
 * One end of a hand-over connection: a Unix SOCK_SEQPACKET socket carrying JSON messages, each with up to
 * SCM_MAX_FDS descriptors attached (SCM_RIGHTS). SEQPACKET keeps each message whole, so there is no framing
 * and a message's descriptors cannot be taken with another's bytes. Threading: coordinator only.
 */
export class HandoverChannel {
  readonly #fd: number;
  readonly #buffer = new Uint8Array(MAX_MESSAGE_BYTES);
  #watch: WatchHandle | undefined;
  #closed = false;

  constructor(fd: number) {
    this.#fd = fd;
  }

  /** Sends `body` as JSON with `fds` (they stay the caller's). Throws a SyscallError (EPIPE: the peer left). */
  send(body: unknown, fds: readonly number[] = []): void {
    if (fds.length > SCM_MAX_FDS) throw new RangeError(`at most ${SCM_MAX_FDS} fds per message`);
    sendFds(this.#fd, new TextEncoder().encode(JSON.stringify(body)), fds);
  }

  /**
   * Calls `onMessage` for each message as it arrives, and `onEnd` once when the peer has gone (or the
   * channel failed, with the error). Messages that are not JSON end the channel with an error.
   */
  receive(onMessage: (message: ChannelMessage) => void, onEnd: (error?: Error) => void): void {
    let ended = false;
    const end = (error?: Error) => {
      if (ended) return;
      ended = true;
      this.#unwatch();
      onEnd(error);
    };
    this.#watch = watchReadable(this.#fd, (status) => {
      if (status < 0) {
        end(new Error(`the hand-over socket failed (errno ${-status})`));
        return;
      }
      for (;;) {
        if (ended || this.#closed) return;
        let received: ReturnType<typeof recvFds>;
        try {
          received = recvFds(this.#fd, this.#buffer);
        } catch (error) {
          end(error as Error);
          return;
        }
        if (received === null) return;
        if (received.length === 0 && received.fds.length === 0) {
          end();
          return;
        }
        let body: unknown;
        try {
          body = JSON.parse(new TextDecoder().decode(this.#buffer.subarray(0, received.length)));
        } catch (error) {
          for (const fd of received.fds) close(fd);
          end(new Error(`the hand-over peer sent a message that is not JSON: ${(error as Error).message}`));
          return;
        }
        onMessage({ body, fds: received.fds });
      }
    });
  }

  /** Stops receiving and closes this end (the peer then sees the channel end). Safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#unwatch();
    try {
      close(this.#fd);
    } catch {}
  }

  #unwatch(): void {
    if (this.#watch !== undefined) unwatch(this.#watch);
    this.#watch = undefined;
  }
}
