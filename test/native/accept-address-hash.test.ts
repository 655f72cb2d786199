import net from 'node:net';
import { describe, expect, it } from 'vitest';
import {
  ACCEPTED_ADDRESS_HASH,
  ACCEPTED_FD,
  ACCEPTED_STRIDE,
  close,
  listen,
  startAccepting,
  stopAccepting,
} from '../../src/native/binding.js';
import { connect, destroy, fnv1a, useTeardown } from '../helpers/sockets.js';

const defer = useTeardown();

/** Accepts `expected` connections on `host` and resolves with [peer address, unsigned hash] for each. */
function acceptHashes(host: string, expected: number): { port: number; hashes: Promise<[string, number][]> } {
  const { fd, port } = listen({ host, port: 0 });
  defer(() => close(fd));
  const out = new Int32Array(4 * ACCEPTED_STRIDE);
  const seen: [string, number][] = [];
  const hashes = new Promise<[string, number][]>((resolve) => {
    const handle = startAccepting(fd, out, (count) => {
      for (let i = 0; i < count; i++) {
        const socket = new net.Socket({
          fd: out[i * ACCEPTED_STRIDE + ACCEPTED_FD]!,
          readable: true,
          writable: true,
        });
        defer(() => destroy(socket));
        seen.push([socket.remoteAddress!, out[i * ACCEPTED_STRIDE + ACCEPTED_ADDRESS_HASH]! >>> 0]);
      }
      if (seen.length === expected) resolve(seen);
    });
    defer(() => stopAccepting(handle));
  });
  return { port, hashes };
}

async function clients(port: number, host: string, localAddresses: (string | undefined)[]): Promise<void> {
  for (const localAddress of localAddresses) {
    const client = await connect(port, host, localAddress);
    defer(() => destroy(client));
  }
}

describe('accepted address hash', () => {
  it('is the FNV-1a of the peer IP alone: the same for every connection from one address', async () => {
    const { port, hashes } = acceptHashes('127.0.0.1', 5);
    // All of 127.0.0.0/8 is loopback on Linux, so 127.0.0.2 is a second local client address.
    await clients(port, '127.0.0.1', [undefined, '127.0.0.2', undefined, '127.0.0.2', undefined]);
    const byAddress = new Map<string, Set<number>>();
    for (const [address, hash] of await hashes)
      byAddress.set(address, (byAddress.get(address) ?? new Set()).add(hash));
    expect(byAddress).toEqual(
      new Map([
        ['127.0.0.1', new Set([fnv1a([127, 0, 0, 1])])],
        ['127.0.0.2', new Set([fnv1a([127, 0, 0, 2])])],
      ]),
    );
  });

  it('hashes the 16 bytes of an IPv6 peer', async () => {
    const { port, hashes } = acceptHashes('::1', 2);
    await clients(port, '::1', [undefined, undefined]);
    const loopback = [...new Array<number>(15).fill(0), 1];
    expect(await hashes).toEqual([
      ['::1', fnv1a(loopback)],
      ['::1', fnv1a(loopback)],
    ]);
  });

  it('hashes an IPv4-mapped peer on an IPv6 socket as the IPv4 address', async () => {
    const { port, hashes } = acceptHashes('::ffff:127.0.0.1', 1);
    await clients(port, '127.0.0.1', [undefined]);
    expect(await hashes).toEqual([['::ffff:127.0.0.1', fnv1a([127, 0, 0, 1])]]);
  });
});
