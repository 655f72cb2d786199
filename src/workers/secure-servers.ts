import type net from 'node:net';
import tls from 'node:tls';
import {
  COUNTER_IDLE_TIMEOUTS,
  COUNTER_TLS_ERRORS,
  COUNTER_TLS_HANDSHAKES,
  COUNTER_TLS_RESUMED,
  type TlsCredentials,
  type TlsSettings,
} from '../protocol.js';
import type { ClientHelloPeek } from './client-hello-peek.js';
import type { ListenerSetup } from './served-listener.js';
import { type KeyName, keyName, type TicketKeysView } from './ticket-keys-view.js';

/** A TLS server of any kind: node:tls, node:https and node:http2's secure server all extend tls.Server. */
export type SecureServer = tls.Server;

/** What a listener's pair of servers is made of. */
export interface SecureServersOptions {
  readonly settings: TlsSettings;
  readonly keys: TicketKeysView;
  readonly peek: ClientHelloPeek;
  /** Makes one server of the listener's kind with these TLS options (it adds its own: ALPN, handlers). */
  make(options: tls.TlsOptions): SecureServer;
  count(counter: number): void;
  /**
   * Ends a TLS connection with no traffic for this long (0: never), counted as an idle timeout. Not for
   * HTTP/2, whose session reads the TLS socket's handle directly (http2-listener.ts times sessions).
   */
  readonly idleTimeoutMs?: number;
}

/** One of the two servers: the ticket keys it holds, and its SNI contexts made with them. */
interface Slot {
  readonly server: SecureServer;
  keys: Buffer | undefined;
  sni: Map<string, tls.SecureContext>;
}

function credentialOptions(credentials: TlsCredentials): tls.SecureContextOptions {
  return {
    key: credentials.key.map((key) => Buffer.from(key)),
    cert: credentials.cert.map((cert) => Buffer.from(cert)),
    ...(credentials.passphrase === undefined ? {} : { passphrase: credentials.passphrase }),
    ...(credentials.ca === undefined ? {} : { ca: credentials.ca.map((ca) => Buffer.from(ca)) }),
  };
}

/** The options every context of a listener shares, credentials aside. */
function protocolOptions(settings: TlsSettings): tls.SecureContextOptions {
  return {
    sessionIdContext: settings.sessionIdContext,
    sessionTimeout: settings.sessionTimeout,
    ...(settings.minVersion === undefined ? {} : { minVersion: settings.minVersion }),
    ...(settings.maxVersion === undefined ? {} : { maxVersion: settings.maxVersion }),
    ...(settings.ciphers === undefined ? {} : { ciphers: settings.ciphers }),
    ...(settings.ecdhCurve === undefined ? {} : { ecdhCurve: settings.ecdhCurve }),
  };
}

/**
 * A TLS listener's two servers in one shard, so that tickets made with the previous period's keys still
 * resume. Node's SecureContext holds one set of ticket keys, so each server holds one: the server of slot
 * `generation % 2` holds the current keys, the other the previous ones. A rotation therefore gives new
 * keys to one server only, and the other keeps what it had: that is exactly "the previous keys".
 *
 * Which server a connection goes to is read from its ClientHello: the ticket it offers starts with the
 * name of the keys that made it (a native MSG_PEEK, nothing consumed). A ticket of the previous keys goes
 * to the server that holds them; anything else (no ticket, the current keys, keys older than that) to the
 * current one, which resumes, or makes a full handshake and a new ticket. Before the first rotation there
 * is no previous server to choose, and no peek.
 *
 * SNI contexts are per server too: OpenSSL encrypts a new ticket with the keys of the context that served
 * the handshake (the SNI one, if any), so they must hold the same keys as their server.
 */
export class SecureServers {
  readonly #settings: { current: TlsSettings };
  readonly #keys: TicketKeysView;
  readonly #peek: ClientHelloPeek;
  readonly #slots: [Slot, Slot];
  #currentSlot = 0;
  /** The name of the previous keys, while a server holds them. */
  #previousName: KeyName | undefined;

  constructor(options: SecureServersOptions) {
    this.#settings = { current: options.settings };
    this.#keys = options.keys;
    this.#peek = options.peek;
    const make = (): Slot => {
      const slot: Slot = { server: undefined as unknown as SecureServer, keys: undefined, sni: new Map() };
      const sni = options.settings.sni.length === 0 ? {} : { SNICallback: this.#sniCallback(slot) };
      const server = options.make({
        ...credentialOptions(options.settings.credentials),
        ...protocolOptions(options.settings),
        ...sni,
        requestCert: options.settings.requestCert,
        rejectUnauthorized: options.settings.rejectUnauthorized,
        handshakeTimeout: options.settings.handshakeTimeoutMs,
      });
      (slot as { server: SecureServer }).server = server;
      const idleTimeoutMs = options.idleTimeoutMs ?? 0;
      server.on('secureConnection', (socket: tls.TLSSocket) => {
        options.count(COUNTER_TLS_HANDSHAKES);
        if (socket.isSessionReused()) options.count(COUNTER_TLS_RESUMED);
        if (idleTimeoutMs > 0) {
          socket.setTimeout(idleTimeoutMs, () => {
            options.count(COUNTER_IDLE_TIMEOUTS);
            socket.destroy();
          });
        }
      });
      // A failed or timed-out handshake: Node has destroyed the socket; count it (no 'error' to catch).
      server.on('tlsClientError', () => options.count(COUNTER_TLS_ERRORS));
      return slot;
    };
    this.#slots = [make(), make()];
    this.#rotate();
  }

  /** Both servers (for drains and for wiring handlers). */
  get servers(): readonly SecureServer[] {
    return this.#slots.map((slot) => slot.server);
  }

  /** A connection this shard adopted, not yet reading: TLS starts on the server whose keys fit its ticket. */
  serve(socket: net.Socket): void {
    if (this.#keys.changed()) this.#rotate();
    const previous = this.#previousName;
    const current = this.#slots[this.#currentSlot]!.server;
    if (previous === undefined) {
      current.emit('connection', socket);
      return;
    }
    const other = this.#slots[1 - this.#currentSlot]!.server;
    this.#peek.peek(socket, this.#settings.current.handshakeTimeoutMs || 120_000, previous, (old) => {
      if (socket.destroyed) return;
      (old ? other : current).emit('connection', socket);
    });
  }

  /** New credentials (engine.setSecureContext) for new connections; open ones keep theirs. */
  setSecureContext(settings: TlsSettings): void {
    this.#settings.current = settings;
    for (const slot of this.#slots) {
      slot.server.setSecureContext({
        ...credentialOptions(settings.credentials),
        ...protocolOptions(settings),
      });
      // setSecureContext makes the context anew with the keys the server was built with: put ours back.
      if (slot.keys !== undefined) slot.server.setTicketKeys(slot.keys);
      slot.sni = this.#sniContexts(slot.keys);
    }
  }

  /** Reads the shared keys and gives each server its share (see the class comment). */
  #rotate(): void {
    const { generation, current, previous } = this.#keys.read();
    this.#currentSlot = generation % 2;
    this.#assign(this.#slots[this.#currentSlot]!, current);
    if (previous !== undefined) this.#assign(this.#slots[1 - this.#currentSlot]!, previous);
    this.#previousName = previous === undefined ? undefined : keyName(previous);
  }

  #assign(slot: Slot, keys: Buffer): void {
    if (slot.keys?.equals(keys) === true) return;
    slot.keys = keys;
    slot.server.setTicketKeys(keys);
    slot.sni = this.#sniContexts(keys);
  }

  #sniContexts(keys: Buffer | undefined): Map<string, tls.SecureContext> {
    const settings = this.#settings.current;
    const contexts = new Map<string, tls.SecureContext>();
    for (const [name, credentials] of settings.sni) {
      contexts.set(
        name,
        tls.createSecureContext({
          ...credentialOptions(credentials),
          ...protocolOptions(settings),
          ...(keys === undefined ? {} : { ticketKeys: keys }),
        }),
      );
    }
    return contexts;
  }

  /** Exact names first, then the one-level wildcard; others get the listener's default certificate. */
  #sniCallback(slot: Slot) {
    return (
      servername: string,
      callback: (error: Error | null, context?: tls.SecureContext) => void,
    ): void => {
      const name = servername.toLowerCase();
      const dot = name.indexOf('.');
      callback(null, slot.sni.get(name) ?? (dot < 0 ? undefined : slot.sni.get(`*${name.slice(dot)}`)));
    };
  }
}

/** The pair of servers of a TLS listener being set up in this shard. */
export function secureServersFor(
  setup: ListenerSetup,
  make: (options: tls.TlsOptions) => SecureServer,
  timesIdle = true,
): SecureServers {
  const { spec, shard } = setup;
  if (spec.tls === undefined || shard.tls === undefined)
    throw new Error(`listener ${spec.id} (${spec.kind}) came with no TLS settings or ticket keys`);
  return new SecureServers({
    settings: spec.tls,
    keys: shard.tls.keys,
    peek: shard.tls.peek,
    make,
    count: (counter) => shard.count(counter),
    ...(timesIdle ? { idleTimeoutMs: spec.idleTimeoutMs ?? 0 } : {}),
  });
}
