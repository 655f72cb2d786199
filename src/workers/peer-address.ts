import type net from 'node:net';
import { formatIp, type IpAddress } from '../ip-address.js';

/**
 * Makes a socket report the client's address that a PROXY protocol header gave (the coordinator read it),
 * instead of the load balancer's: `remoteAddress`, `remotePort` and `remoteFamily` of this socket, of a
 * TLS socket over it (node:tls forwards getpeername to the handle it wraps), and so of `request.socket` in
 * node:http, node:https and node:http2. Node reads the peer through its handle's getpeername and caches
 * it, so the override goes on the handle, before anything has asked.
 */
export function showPeerAddress(socket: net.Socket, address: IpAddress, port: number): void {
  const handle = (socket as unknown as { _handle?: { getpeername?: unknown } })._handle;
  if (handle === undefined) return;
  const text = formatIp(address);
  const name = address.family === 4 ? 'IPv4' : 'IPv6';
  handle.getpeername = (out: { address?: string; port?: number; family?: string }): number => {
    out.address = text;
    out.port = port;
    out.family = name;
    return 0;
  };
}
