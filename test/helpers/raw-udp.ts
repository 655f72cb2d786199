/**
 * Sending a UDP datagram from source port 0, which no bound UDP socket can do (binding port 0 picks a free
 * port): through a raw socket (root or CAP_NET_RAW, and the raw-socket addon for this Node), writing the UDP
 * header ourselves and letting the kernel add the IPv4 one.
 */
import { createRequire } from 'node:module';

interface RawSocket {
  send(
    buffer: Buffer,
    offset: number,
    length: number,
    address: string,
    callback: (error: Error | null, bytes: number) => void,
  ): void;
  close(): void;
}
interface RawSocketModule {
  createSocket(options: { protocol: number }): RawSocket;
  Protocol: { UDP: number };
}

const UDP_HEADER_BYTES = 8;

function open(): RawSocket {
  const raw = createRequire(import.meta.url)('raw-socket') as RawSocketModule;
  return raw.createSocket({ protocol: raw.Protocol.UDP });
}

/** Why this process cannot send from port 0, or '' when it can (found once, by opening a raw socket). */
export const portZeroSkipReason: string = (() => {
  if (process.getuid?.() !== 0) return 'needs root or CAP_NET_RAW for a raw socket';
  try {
    open().close();
    return '';
  } catch (error) {
    return `raw sockets unavailable on Node ${process.version}: ${(error as Error).message.slice(0, 120)}`;
  }
})();

/** Appended to a test's name: why it is skipped, or nothing. */
export const portZeroSkipNote = portZeroSkipReason === '' ? '' : ` (skipped: ${portZeroSkipReason})`;

/** Sends `payload` to 127.0.0.1:`port` from source port 0 (UDP checksum 0: none, allowed over IPv4). */
export async function sendFromPortZero(port: number, payload: Uint8Array): Promise<void> {
  const datagram = Buffer.alloc(UDP_HEADER_BYTES + payload.length);
  datagram.writeUInt16BE(0, 0); // source port
  datagram.writeUInt16BE(port, 2);
  datagram.writeUInt16BE(datagram.length, 4);
  datagram.writeUInt16BE(0, 6); // checksum
  datagram.set(payload, UDP_HEADER_BYTES);
  const socket = open();
  try {
    await new Promise<void>((resolve, reject) =>
      socket.send(datagram, 0, datagram.length, '127.0.0.1', (error) =>
        error === null ? resolve() : reject(error),
      ),
    );
  } finally {
    socket.close();
  }
}
