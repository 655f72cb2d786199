import { readFileSync, readlinkSync } from 'node:fs';

/** Column of the drop counter in /proc/net/udp{,6} (after splitting on white space). */
const DROPS_COLUMN = 12;
const INODE_COLUMN = 9;

/**
 * Datagrams the kernel dropped on these sockets (receive buffer full, bad checksum), from the `drops`
 * column of /proc/net/udp and /proc/net/udp6, matched by socket inode. Linux only; 0 where unreadable.
 */
export function kernelDrops(fds: readonly number[]): number {
  const inodes = new Set<string>();
  for (const fd of fds) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`));
      if (match !== null) inodes.add(match[1]!);
    } catch {}
  }
  if (inodes.size === 0) return 0;
  let drops = 0;
  for (const table of ['/proc/net/udp', '/proc/net/udp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const columns = line.trim().split(/\s+/);
      if (inodes.has(columns[INODE_COLUMN] ?? '')) drops += Number(columns[DROPS_COLUMN] ?? 0);
    }
  }
  return drops;
}
