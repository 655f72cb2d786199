import { readFileSync, readlinkSync } from 'node:fs';

/** Column of the drop counter in /proc/net/udp{,6} (after splitting on white space). */
const DROPS_COLUMN = 12;
const INODE_COLUMN = 9;

/** The inode of the socket behind `fd` (what /proc/net/udp lists it by), or undefined. */
export function socketInode(fd: number): string | undefined {
  try {
    return /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`))?.[1];
  } catch {
    return undefined;
  }
}

/**
 * Datagrams the kernel dropped per UDP socket (receive buffer full, bad checksum), by socket inode, from
 * the `drops` column of /proc/net/udp and /proc/net/udp6: read once per stats snapshot, for every port.
 * Linux only; empty where unreadable.
 */
export function readUdpDrops(): Map<string, number> {
  const drops = new Map<string, number>();
  for (const table of ['/proc/net/udp', '/proc/net/udp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const columns = line.trim().split(/\s+/);
      const inode = columns[INODE_COLUMN];
      if (inode !== undefined) drops.set(inode, Number(columns[DROPS_COLUMN] ?? 0));
    }
  }
  return drops;
}
