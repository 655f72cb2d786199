import { IcmpSocket } from '../../src/engine/icmp-socket.js';

/**
 * Why raw ICMP cannot be tested in this process, or '' when it can: it needs root (or CAP_NET_RAW), and
 * the raw-socket package, which does not build on every Node (1.8.1 fails to compile against Node 24's
 * V8). Found by opening a socket, once, in this (main) thread.
 */
export const icmpSkipReason: string = (() => {
  if (process.getuid?.() !== 0) return 'needs root or CAP_NET_RAW';
  try {
    IcmpSocket.open().close();
    return '';
  } catch (error) {
    return `raw ICMP unavailable on Node ${process.version}: ${(error as Error).message.slice(0, 120)}`;
  }
})();

/** Appended to a test's name: why it is skipped, or nothing. */
export const icmpSkipNote = icmpSkipReason === '' ? '' : ` (skipped: ${icmpSkipReason})`;
