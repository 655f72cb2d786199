import { EngineStateError, InvalidOptionError, reviveError } from '../errors.js';
import type { ListenerSpec } from '../protocol.js';
import type { ResolvedListener } from './options.js';
import type { ShardHandle } from './shard-handle.js';
import { TicketKeyRing } from './ticket-keys.js';
import { resolveSecureContext, type SecureContextOptions } from './tls-options.js';

/**
 * The coordinator's side of the TLS listeners: the session-ticket keys every shard shares (rotated on a
 * schedule), and certificate reloads rolled to every shard without a restart.
 */
export class SecureListeners {
  readonly ticketKeys = new TicketKeyRing();
  /** The options each TLS listener's credentials were last read from (SIGHUP reads them again). */
  readonly #sources = new Map<number, SecureContextOptions>();
  /**
   * The specs every shard's init shares: what a restarted shard gets, so it must follow certificate
   * reloads. A rolling reload makes new ones (follow()).
   */
  #specs: ListenerSpec[];

  constructor(listeners: readonly ResolvedListener[], specs: ListenerSpec[], rotationMs: number) {
    this.#specs = specs;
    for (const listener of listeners) {
      if (listener.secureContext !== undefined) this.#sources.set(listener.id, listener.secureContext);
    }
    this.ticketKeys.start(rotationMs);
  }

  /** From now on every shard's init holds `specs` (a rolling reload's, prepared with the current credentials). */
  follow(specs: ListenerSpec[]): void {
    this.#specs = specs;
  }

  /**
   * Reads `options` (files included), checks them as start() does, then gives every live shard the new
   * credentials and resolves once all have them; shards restarted later start with them. Open connections
   * keep the certificate they were made with. Throws (nothing changed) on anything start() would refuse.
   */
  async setSecureContext(
    listenerId: number,
    options: SecureContextOptions,
    shards: readonly ShardHandle[],
  ): Promise<void> {
    const index = this.#specs.findIndex((spec) => spec.id === listenerId);
    const spec = this.#specs[index];
    if (spec?.tls === undefined)
      throw new InvalidOptionError(
        'listener',
        `listener ${listenerId} is not a TLS listener (tls, https, http2)`,
      );
    const tls = { ...spec.tls, ...resolveSecureContext(spec.kind, options) };
    // Every init holds this same array: replacing the entry is what a shard restarted from now on reads.
    this.#specs[index] = { ...spec, tls };
    this.#sources.set(listenerId, options);
    await Promise.all(
      shards
        .filter((shard) => shard.alive)
        .map((shard) => {
          const applied = shard.waitFor((message) => {
            if (message.type === 'secure-context-failed' && message.listenerId === listenerId)
              throw reviveError(message.error, shard.id, { listenerId });
            return message.type === 'secure-context-set' && message.listenerId === listenerId
              ? true
              : undefined;
          });
          shard.post({ type: 'secure-context', listenerId, tls });
          // A shard that dies meanwhile starts again from the specs, which already hold the new settings.
          return applied.catch((error: unknown) => {
            if (shard.alive) throw error;
          });
        }),
    );
  }

  /** SIGHUP: every TLS listener's credentials read again from where they came from. */
  async reload(shards: readonly ShardHandle[]): Promise<void> {
    for (const [listenerId, options] of this.#sources)
      await this.setSecureContext(listenerId, options, shards);
  }

  close(): void {
    this.ticketKeys.stop();
  }
}

/** For engine methods that need a started engine with TLS listeners. */
export function requireSecureListeners(
  secure: SecureListeners | undefined,
  running: boolean,
  method: string,
): SecureListeners {
  if (!running) throw new EngineStateError(`engine.${method}() needs a running engine`);
  if (secure === undefined) throw new EngineStateError(`engine.${method}(): this engine has no TLS listener`);
  return secure;
}
