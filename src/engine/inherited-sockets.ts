import { isIP } from 'node:net';
import { close, describeSocket, dup, listen, type SocketDescription, udpSocket } from '../native/binding.js';

/** Where a socket the coordinator serves on came from. */
export type SocketOrigin = 'bound' | 'systemd' | 'handover';

/** A socket this process received open: from systemd (LISTEN_FDS) or from a predecessor (the hand-over). */
export interface InheritedSocket {
  /** Close-on-exec, owned by the `InheritedSockets` until claimed. */
  readonly fd: number;
  readonly origin: 'systemd' | 'handover';
  /** What the kernel says it is (never what a message says). */
  readonly description: SocketDescription;
  /** Hand-over: the role the predecessor served it in. */
  readonly key?: SocketKey;
  /** Hand-over: the port the predecessor's listener asked for (0: the kernel picked `description.port`). */
  readonly configuredPort?: number;
  /** systemd: its FileDescriptorName= (LISTEN_FDNAMES), "unknown" when the unit gave none. */
  readonly name?: string;
}

/** What a listener asks the inherited sockets for. */
export interface SocketClaim {
  /** The role: how a predecessor's socket is found again. */
  readonly key: SocketKey;
  readonly type: 'stream' | 'dgram';
  readonly host: string;
  /** The configured port; 0 matches only a predecessor's socket of the same key that was also 0. */
  readonly port: number;
  /** A systemd FileDescriptorName= to take, whatever its port. */
  readonly fdName?: string;
}

/**
 * The role of a socket, the same in a predecessor and its successor when both run the same listeners:
 * `stream:<listener>` (the coordinator's listening socket), `kernel:<listener>:<copy>` (balance 'kernel',
 * one SO_REUSEPORT socket per shard), `udp:<listener>:<port index>:<copy>` (one per port, or one per shard
 * with reusePort), and `metrics`, `health`, `handover`.
 */
export type SocketKey =
  | `stream:${number}`
  | `kernel:${number}:${number}`
  | `udp:${number}:${number}:${number}`
  | 'metrics'
  | 'health'
  | 'handover';

/** A socket the engine serves on: bound here or inherited. The fd is the caller's to close. */
export interface OpenedSocket {
  readonly fd: number;
  readonly port: number;
  readonly origin: SocketOrigin;
}

/** Options for a socket that has to be bound here when nothing inherited fits. */
export interface BindRequest {
  readonly backlog?: number;
  readonly reusePort?: boolean;
  readonly ipv6Only?: boolean;
  readonly recvBufferSize?: number;
  readonly sendBufferSize?: number;
}

const family = (host: string): SocketDescription['family'] => (isIP(host) === 6 ? 'ipv6' : 'ipv4');

/**
 * The sockets a process was started with, claimed by the listeners they fit. Each socket is checked by
 * what the kernel says it is (type, family, listening, address) before a listener takes it: a socket of the
 * wrong kind is never served, and a listener with no fitting socket binds its own as usual.
 *
 * Matching, first rule that finds one:
 * 1. a predecessor's socket with the listener's key, whose type fits and whose address is the listener's
 *    (its port the configured one, or both configured 0, in which case the successor keeps the port);
 * 2. a systemd socket named `fdName`;
 * 3. any inherited socket of the right type on the configured port (not 0). The host is not compared for
 *    systemd sockets: the socket unit decides the address (ListenStream=8080 binds [::]:8080).
 *
 * Threading: coordinator only.
 */
export class InheritedSockets {
  readonly #unclaimed: InheritedSocket[];
  readonly #fallback: InheritedSockets | undefined;

  /** `fallback`: asked when none of `sockets` fits (the process's systemd sockets, shared by its engines). */
  constructor(sockets: readonly InheritedSocket[] = [], fallback?: InheritedSockets) {
    this.#unclaimed = [...sockets];
    this.#fallback = fallback;
  }

  /** Takes the first inherited socket that fits `claim`, or undefined. */
  claim(claim: SocketClaim): InheritedSocket | undefined {
    const index = this.#find(claim);
    if (index < 0) return this.#fallback?.claim(claim);
    const socket = this.#unclaimed.splice(index, 1)[0]!;
    if (socket.origin !== 'systemd') return socket;
    // systemd's fds are not close-on-exec; a child this process starts must not keep the port open.
    const fd = dup(socket.fd);
    close(socket.fd);
    return { ...socket, fd };
  }

  /** A listening TCP socket for `claim`: inherited if one fits, else bound here. */
  listen(claim: SocketClaim, request: BindRequest = {}): OpenedSocket {
    const inherited = this.claim(claim);
    if (inherited !== undefined) return opened(inherited);
    const bound = listen({ host: claim.host, port: claim.port, ...request });
    return { ...bound, origin: 'bound' };
  }

  /** A bound UDP socket for `claim`: inherited if one fits, else bound here. */
  udp(claim: SocketClaim, request: BindRequest = {}): OpenedSocket {
    const inherited = this.claim(claim);
    if (inherited !== undefined) return opened(inherited);
    const bound = udpSocket({ host: claim.host, port: claim.port, ...request });
    return { ...bound, origin: 'bound' };
  }

  /**
   * Closes the predecessor's sockets no listener claimed (systemd's stay open: the application may use
   * them) and returns them.
   */
  closeUnclaimed(): InheritedSocket[] {
    const left = this.#unclaimed.splice(0);
    for (const socket of left) {
      try {
        close(socket.fd);
      } catch {}
    }
    return left;
  }

  #find(claim: SocketClaim): number {
    const sockets = this.#unclaimed;
    const fits = (socket: InheritedSocket) => fitsType(socket.description, claim.type);
    const atHost = (socket: InheritedSocket) =>
      socket.description.family === family(claim.host) && socket.description.address === claim.host;
    let index = sockets.findIndex(
      (socket) =>
        socket.origin === 'handover' &&
        socket.key === claim.key &&
        fits(socket) &&
        atHost(socket) &&
        (claim.port === 0 ? socket.configuredPort === 0 : socket.description.port === claim.port),
    );
    if (index >= 0) return index;
    if (claim.fdName !== undefined) {
      index = sockets.findIndex((socket) => socket.name === claim.fdName && fits(socket));
      if (index >= 0) return index;
    }
    if (claim.port === 0) return -1;
    const onPort = (socket: InheritedSocket) =>
      fits(socket) &&
      socket.description.port === claim.port &&
      (socket.origin === 'systemd' || atHost(socket));
    // An exact address first, for a unit with ListenStream=127.0.0.1:80 and ListenStream=[::1]:80.
    index = sockets.findIndex((socket) => onPort(socket) && atHost(socket));
    return index >= 0 ? index : sockets.findIndex(onPort);
  }
}

function fitsType(description: SocketDescription, type: 'stream' | 'dgram'): boolean {
  if (description.family !== 'ipv4' && description.family !== 'ipv6') return false;
  return type === 'stream'
    ? description.type === 'stream' && description.listening
    : description.type === 'dgram';
}

function opened(socket: InheritedSocket): OpenedSocket {
  return { fd: socket.fd, port: socket.description.port, origin: socket.origin };
}

/** Describes an inherited fd; undefined (and the fd closed) if it is no socket at all. */
export function describeInherited(fd: number): SocketDescription | undefined {
  try {
    return describeSocket(fd);
  } catch {
    try {
      close(fd);
    } catch {}
    return undefined;
  }
}
