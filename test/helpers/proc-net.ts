/**
 * The kernel's view of a port's TCP sockets, from /proc/net/tcp{,6}, and which of them this process holds
 * an fd for: how tests and the soak tell that no connection was left open or stuck in CLOSE-WAIT.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** TCP states as /proc/net/tcp writes them (hex). */
export const TCP_CLOSE_WAIT = '08';
export const TCP_LISTEN = '0A';

/**
 * The TCP sockets whose local port is `port` (IPv4 and IPv6), from /proc/net/tcp{,6}: their state and
 * inode (0 once no fd holds the socket, as in TIME-WAIT).
 */
export function tcpSocketsOn(port: number): { readonly state: string; readonly inode: string }[] {
  const local = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const sockets: { state: string; inode: string }[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields[1]?.endsWith(local)) sockets.push({ state: fields[3]!, inode: fields[9]! });
    }
  }
  return sockets;
}

/** How many fds of this process hold a connection (not a listening socket) whose local port is `port`. */
export function connectionFdsOn(port: number): number {
  const inodes = new Set(
    tcpSocketsOn(port)
      .filter((socket) => socket.state !== TCP_LISTEN && socket.inode !== '0')
      .map((socket) => `socket:[${socket.inode}]`),
  );
  let held = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (inodes.has(readlinkSync(`/proc/self/fd/${fd}`))) held++;
    } catch {} // the directory listing's own fd, gone already
  }
  return held;
}
