import net from 'node:net';
import { MessageChannel, type TransferListItem } from 'node:worker_threads';

let supported: Promise<boolean> | undefined;

/**
 * Whether this Node can move a connected `net.Socket` to another thread with `postMessage`. The one place
 * that says which do: tried here, Node 24.22 and 26.12 can; 20.20 ("Found invalid object in transferList")
 * and 22.23 ("Found invalid value in transferList") cannot. Found out once, by trying it on a loopback
 * connection, rather than from the version number.
 */
export function canTransferSockets(): Promise<boolean> {
  supported ??= probe();
  return supported;
}

async function probe(): Promise<boolean> {
  const server = net.createServer({ pauseOnConnect: true });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  client.on('error', () => {});
  try {
    const [socket] = (await new Promise<net.Socket[]>((resolve) =>
      server.once('connection', (s) => resolve([s])),
    )) as [net.Socket];
    const { port1, port2 } = new MessageChannel();
    try {
      port1.postMessage({ socket }, [socket as unknown as TransferListItem]);
      return true;
    } catch {
      socket.destroy();
      return false;
    } finally {
      port1.close();
      port2.close();
    }
  } finally {
    client.destroy();
    await new Promise((resolve) => server.close(resolve));
  }
}

/** 32-bit FNV-1a of a peer address string: the `hash` balancer's key when Node accepted the socket. */
export function addressHash(address: string | undefined): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < (address?.length ?? 0); i++)
    hash = Math.imul(hash ^ address!.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}
