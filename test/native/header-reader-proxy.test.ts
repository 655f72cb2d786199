import { once } from 'node:events';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { formatIpv4, formatIpv6 } from '../../src/ip-address.js';
import {
  ACCEPTED_FD,
  ACCEPTED_STRIDE,
  addHeaderFd,
  allowEntries,
  close,
  HEADER_ADDRESS,
  HEADER_CLOSED,
  HEADER_FAMILY,
  HEADER_FD,
  HEADER_HASH,
  HEADER_LOCAL,
  HEADER_MALFORMED,
  HEADER_MISSING,
  HEADER_OK,
  HEADER_OVERSIZED,
  HEADER_PENDING,
  HEADER_PORT,
  HEADER_READ_PROXY,
  HEADER_REFUSED,
  HEADER_STATUS,
  HEADER_VERSION,
  HEADER_WORDS,
  listen,
  removeHeaderFd,
  startAccepting,
  startHeaderReader,
  stopAccepting,
  stopHeaderReader,
} from '../../src/native/binding.js';
import { closed, connect, destroy, fnv1a, useTeardown } from '../helpers/sockets.js';

const defer = useTeardown();

interface HeaderResult {
  readonly fd: number;
  readonly status: number;
  readonly family: number;
  readonly address: string;
  readonly port: number;
  readonly hash: number;
  readonly version: number;
}

/** The result record at `record` of `out`. */
function resultOf(out: Int32Array, record: number): HeaderResult {
  const words = [0, 1, 2, 3].map((w) => out[record + HEADER_ADDRESS + w]!) as [
    number,
    number,
    number,
    number,
  ];
  const family = out[record + HEADER_FAMILY]!;
  return {
    fd: out[record + HEADER_FD]!,
    status: out[record + HEADER_STATUS]!,
    family,
    address: family === 4 ? formatIpv4(words[0]) : family === 6 ? formatIpv6(words) : '',
    port: out[record + HEADER_PORT]!,
    hash: out[record + HEADER_HASH]! >>> 0,
    version: out[record + HEADER_VERSION]!,
  };
}

/**
 * A listening socket whose accepted fds go into a PROXY header reader (allowlist `allow`), at once or,
 * with `hold`, when the test calls `add`. Resolves each accepted fd's `addHeaderFd` status, and each
 * result, in order: those of headers queued when their fd was added (`immediate`) and those that came
 * later through the reader's callback.
 */
function proxyServer(allow: string[], maxHeader = 232, hold = false) {
  const { fd: listenFd, port } = listen({ host: '127.0.0.1', port: 0 });
  defer(() => close(listenFd));
  const accepted: { fd: number; added: number }[] = [];
  const results: HeaderResult[] = [];
  const immediate: HeaderResult[] = [];
  const out = new Int32Array(8 * HEADER_WORDS);
  const now = new Int32Array(HEADER_WORDS);
  const reader = startHeaderReader(HEADER_READ_PROXY, maxHeader, allowEntries(allow), out, (count) => {
    for (let i = 0; i < count; i++) results.push(resultOf(out, i * HEADER_WORDS));
  });
  defer(() => stopHeaderReader(reader));
  const add = (fd: number): number => {
    const added = addHeaderFd(reader, fd, now);
    if (added !== HEADER_PENDING && added !== HEADER_REFUSED) {
      const result = resultOf(now, 0);
      immediate.push(result);
      results.push(result);
    }
    return added;
  };
  const acceptOut = new Int32Array(8 * ACCEPTED_STRIDE);
  const acceptor = startAccepting(listenFd, acceptOut, (count) => {
    for (let i = 0; i < count; i++) {
      const fd = acceptOut[i * ACCEPTED_STRIDE + ACCEPTED_FD]!;
      accepted.push({ fd, added: hold ? HEADER_PENDING : add(fd) });
    }
  });
  defer(() => stopAccepting(acceptor));
  return { port, accepted, results, immediate, reader, add };
}

/** Adopts an fd whose header was read and resolves with what it reads until the client ends. */
async function rest(fd: number): Promise<string> {
  const socket = new net.Socket({ fd, readable: true, writable: true });
  defer(() => destroy(socket));
  socket.setEncoding('utf8');
  let text = '';
  socket.on('data', (chunk: string) => {
    text += chunk;
  });
  await once(socket, 'end');
  return text;
}

function v2Header(command: number, familyProtocol: number, addresses: Buffer): Buffer {
  const fixed = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
  const tail = Buffer.alloc(4);
  tail[0] = 0x20 | command;
  tail[1] = familyProtocol;
  tail.writeUInt16BE(addresses.length, 2);
  return Buffer.concat([fixed, tail, addresses]);
}

function v2Inet(source: string, destination: string, sourcePort: number, destinationPort: number): Buffer {
  const addresses = Buffer.alloc(12);
  source.split('.').forEach((octet, i) => {
    addresses[i] = Number(octet);
  });
  destination.split('.').forEach((octet, i) => {
    addresses[4 + i] = Number(octet);
  });
  addresses.writeUInt16BE(sourcePort, 8);
  addresses.writeUInt16BE(destinationPort, 10);
  return v2Header(1, 0x11, addresses);
}

async function client(port: number, localAddress = '127.0.0.1'): Promise<net.Socket> {
  const socket = await connect(port, '127.0.0.1', localAddress);
  socket.on('error', () => {});
  defer(() => destroy(socket));
  return socket;
}

async function closeResult(results: HeaderResult[], index: number): Promise<HeaderResult> {
  await expect.poll(() => results.length).toBeGreaterThan(index);
  const result = results[index]!;
  if (result.status !== HEADER_OK && result.status !== HEADER_LOCAL) close(result.fd);
  return result;
}

describe('PROXY header reader', () => {
  it('reads a v1 header, reports the client, and leaves the bytes after it', async () => {
    const server = proxyServer(['127.0.0.1']);
    const socket = await client(server.port);
    socket.end('PROXY TCP4 203.0.113.7 192.0.2.1 51234 443\r\nGET / HTTP/1.1\r\n\r\n');
    const result = await closeResult(server.results, 0);
    expect(result).toMatchObject({
      status: HEADER_OK,
      family: 4,
      address: '203.0.113.7',
      port: 51234,
      version: 1,
      hash: fnv1a([203, 0, 113, 7]),
    });
    expect(await rest(result.fd)).toBe('GET / HTTP/1.1\r\n\r\n');
  });

  it('reads a header already queued when its fd is added at once, and one that comes later when it comes', async () => {
    const server = proxyServer(['127.0.0.1'], 232, true);
    const early = await client(server.port);
    await new Promise((resolve) => early.write('PROXY TCP4 192.0.2.5 192.0.2.1 1000 443\r\nearly', resolve));
    const late = await client(server.port);
    await expect.poll(() => server.accepted.length).toBe(2);
    // The kernel has the early client's bytes (its write is done): the result is addHeaderFd's own.
    expect(server.add(server.accepted[0]!.fd)).toBe(HEADER_OK);
    expect(server.immediate).toEqual([expect.objectContaining({ status: HEADER_OK, address: '192.0.2.5' })]);
    expect(server.add(server.accepted[1]!.fd)).toBe(HEADER_PENDING);
    late.end('PROXY TCP4 192.0.2.6 192.0.2.1 2000 443\r\nlate');
    early.end();
    const result = await closeResult(server.results, 1);
    expect(result).toMatchObject({ status: HEADER_OK, address: '192.0.2.6', port: 2000 });
    expect(server.immediate).toHaveLength(1);
    expect(await rest(server.results[0]!.fd)).toBe('early');
    expect(await rest(result.fd)).toBe('late');
  });

  it('reads a v2 header sent one byte at a time, then the data after it', async () => {
    const server = proxyServer(['127.0.0.0/8']);
    const socket = await client(server.port);
    socket.setNoDelay(true);
    const header = v2Inet('198.51.100.9', '10.0.0.1', 40000, 8443);
    for (const byte of header.subarray(0, -1)) {
      socket.write(Buffer.from([byte]));
      // Each byte its own segment: wait until the kernel has sent it before the next.
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(server.results).toHaveLength(0);
    socket.end(Buffer.concat([header.subarray(-1), Buffer.from('hello')]));
    const result = await closeResult(server.results, 0);
    expect(result).toMatchObject({ status: HEADER_OK, address: '198.51.100.9', port: 40000, version: 2 });
    expect(await rest(result.fd)).toBe('hello');
  });

  it('reads v1 and v2 IPv6 sources, and IPv4-mapped ones as IPv4', async () => {
    const server = proxyServer(['127.0.0.1']);
    const v6 = Buffer.alloc(36);
    v6.write('20010db8000000000000000000000001', 0, 'hex');
    v6.write('20010db8000000000000000000000002', 16, 'hex');
    v6.writeUInt16BE(1111, 32);
    v6.writeUInt16BE(443, 34);
    const headers = [
      Buffer.from('PROXY TCP6 2001:db8::5 2001:db8::1 5555 443\r\n'),
      v2Header(1, 0x21, v6),
      Buffer.from('PROXY TCP6 ::ffff:192.0.2.44 ::1 6000 443\r\n'),
    ];
    for (const header of headers) (await client(server.port)).end(header);
    await expect.poll(() => server.results.length).toBe(3);
    const byAddress = server.results.map((r) => [r.family, r.address, r.port]).sort();
    expect(byAddress).toEqual([
      [4, '192.0.2.44', 6000],
      [6, '2001:db8::1', 1111],
      [6, '2001:db8::5', 5555],
    ]);
    expect(server.results.find((r) => r.family === 4)!.hash).toBe(fnv1a([192, 0, 2, 44]));
    for (const result of server.results) close(result.fd);
  });

  it('takes LOCAL (v2) and UNKNOWN (v1) as the connection itself, skipping TLVs', async () => {
    const server = proxyServer(['127.0.0.1']);
    const tlv = Buffer.from([0x04, 0x00, 0x03, 0x61, 0x62, 0x63]); // PP2_TYPE_NOOP, 3 bytes
    (await client(server.port)).end(Buffer.concat([v2Header(0, 0x00, tlv), Buffer.from('after')]));
    const local = await closeResult(server.results, 0);
    expect(local).toMatchObject({ status: HEADER_LOCAL, family: 4, address: '127.0.0.1', version: 2 });
    expect(await rest(local.fd)).toBe('after');
    (await client(server.port)).end('PROXY UNKNOWN whatever comes here\r\nx');
    const unknown = await closeResult(server.results, 1);
    expect(unknown).toMatchObject({ status: HEADER_LOCAL, address: '127.0.0.1', version: 1 });
    expect(await rest(unknown.fd)).toBe('x');
  });

  it('refuses a source outside the allowlist without waiting for a byte', async () => {
    const server = proxyServer(['127.0.0.2', '10.0.0.0/8']);
    await client(server.port, '127.0.0.1');
    const allowed = await client(server.port, '127.0.0.2');
    await expect.poll(() => server.accepted.length).toBe(2);
    expect(server.accepted.map((a) => a.added)).toEqual([HEADER_REFUSED, HEADER_PENDING]);
    close(server.accepted[0]!.fd);
    allowed.end('PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n');
    expect((await closeResult(server.results, 0)).address).toBe('1.2.3.4');
    close(server.results[0]!.fd);
  });

  const bad: [string, Buffer, number][] = [
    ['no header at all', Buffer.from('GET / HTTP/1.1\r\n\r\n'), HEADER_MISSING],
    ['TLS instead of a header', Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05]), HEADER_MISSING],
    ['a lone LF', Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n'), HEADER_MALFORMED],
    ['a CR without LF', Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rx'), HEADER_MALFORMED],
    ['a heading zero', Buffer.from('PROXY TCP4 1.2.3.04 5.6.7.8 1 2\r\n'), HEADER_MALFORMED],
    ['a port over 65535', Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n'), HEADER_MALFORMED],
    ['a port with a heading zero', Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n'), HEADER_MALFORMED],
    ['two spaces', Buffer.from('PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n'), HEADER_MALFORMED],
    ['a field too many', Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n'), HEADER_MALFORMED],
    ['IPv6 under TCP4', Buffer.from('PROXY TCP4 ::1 ::1 1 2\r\n'), HEADER_MALFORMED],
    ['an unknown protocol', Buffer.from('PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n'), HEADER_MALFORMED],
    ['a v1 line over 107 bytes', Buffer.from(`PROXY UNKNOWN ${'f'.repeat(100)}\r\n`), HEADER_OVERSIZED],
    [
      'v2 version 1',
      Buffer.from(v2Inet('1.2.3.4', '5.6.7.8', 1, 2).map((b, i) => (i === 12 ? 0x11 : b))),
      HEADER_MALFORMED,
    ],
    ['v2 command 2', v2Header(2, 0x11, Buffer.alloc(12)), HEADER_MALFORMED],
    ['v2 family 4', v2Header(1, 0x41, Buffer.alloc(12)), HEADER_MALFORMED],
    ['v2 INET with 8 address bytes', v2Header(1, 0x11, Buffer.alloc(8)), HEADER_MALFORMED],
    ['v2 over maxHeader', v2Header(1, 0x11, Buffer.alloc(300)), HEADER_OVERSIZED],
  ];
  for (const [name, bytes, status] of bad) {
    it(`closes on ${name}`, async () => {
      const server = proxyServer(['127.0.0.1']);
      (await client(server.port)).write(bytes);
      expect((await closeResult(server.results, 0)).status).toBe(status);
    });
  }

  it('reports a peer that closes in the middle of a header as closed', async () => {
    const server = proxyServer(['127.0.0.1']);
    (await client(server.port)).end('PROXY TCP4 1.2.3.4 ');
    (await client(server.port)).end();
    await expect.poll(() => server.results.length).toBe(2);
    for (const result of server.results) {
      expect(result.status).toBe(HEADER_CLOSED);
      close(result.fd);
    }
  });

  it('lets the caller give up on a slow header: remove, close, and the reader serves on', async () => {
    const server = proxyServer(['127.0.0.1']);
    const slow = await client(server.port);
    slow.write('PROXY TCP4 1.2');
    await expect.poll(() => server.accepted.length).toBe(1);
    const { fd } = server.accepted[0]!;
    removeHeaderFd(server.reader, fd);
    close(fd);
    await closed(slow);
    (await client(server.port)).end('PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n');
    const result = await closeResult(server.results, 0);
    expect(result.status).toBe(HEADER_OK);
    close(result.fd);
  });

  it('rejects a bad allowlist entry, naming it', () => {
    expect(() => allowEntries(['10.0.0.0/8', '10.0.0.0/33'], 'proxyProtocol.from')).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_OPTION', option: 'proxyProtocol.from[1]' }),
    );
    for (const entry of ['nope', '1.2.3.4/', '::1/129', '1.2.3.4/8/8', '1.2.3.4/x']) {
      expect(() => allowEntries([entry])).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION' }));
    }
  });
});
