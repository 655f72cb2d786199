import { constants } from 'node:os';
import { describe, expect, it } from 'vitest';
import { SyscallError } from '../../src/errors.js';
import {
  close,
  DGRAM_ADDRESS,
  DGRAM_FAMILY,
  DGRAM_FLAGS,
  DGRAM_LENGTH,
  DGRAM_OFFSET,
  DGRAM_PORT,
  DGRAM_WORDS,
  FAMILY_IPV4,
  FAMILY_IPV6,
  sendUdpBatch,
  UDP_META_HEADER_WORDS,
  UDP_META_SEND_FAILED,
  UDP_META_SEND_ICMP_ERRORS,
  UDP_META_SEND_SENT,
  UDP_META_SEND_SENT_BYTES,
  UDP_META_SEND_STOP_ERRNO,
  udpBatchError,
  udpSocket,
} from '../../src/native/binding.js';
import { useTeardown } from '../helpers/sockets.js';
import { payload, seqOf, UdpClient } from '../helpers/udp.js';

const defer = useTeardown();
const { EAFNOSUPPORT, EAGAIN, EINVAL, EMSGSIZE } = constants.errno;
const LOCALHOST = 0x7f00_0001;

/** Packs datagrams into a slab and their records into a meta array, as a sender would. */
class SendBatch {
  readonly slab: Uint8Array;
  readonly meta: Int32Array;
  count = 0;
  #used = 0;

  constructor(slabBytes: number, records: number) {
    this.slab = new Uint8Array(slabBytes);
    this.meta = new Int32Array(UDP_META_HEADER_WORDS + records * DGRAM_WORDS);
  }

  add(
    bytes: Uint8Array,
    port: number,
    family = FAMILY_IPV4,
    address: readonly number[] = [LOCALHOST, 0, 0, 0],
  ): this {
    const record = this.#record(this.count++);
    this.slab.set(bytes, this.#used);
    this.meta[record + DGRAM_OFFSET] = this.#used;
    this.meta[record + DGRAM_LENGTH] = bytes.length;
    this.meta[record + DGRAM_FAMILY] = family;
    this.meta[record + DGRAM_PORT] = port;
    this.meta.set(address, record + DGRAM_ADDRESS);
    this.#used += bytes.length;
    return this;
  }

  word(index: number, word: number): number {
    return this.meta[this.#record(index) + word]!;
  }

  set(index: number, word: number, value: number): void {
    this.meta[this.#record(index) + word] = value;
  }

  #record(index: number): number {
    return UDP_META_HEADER_WORDS + index * DGRAM_WORDS;
  }
}

function sender(sendBufferSize = 0): number {
  const { fd } = udpSocket({ host: '127.0.0.1', port: 0, sendBufferSize });
  defer(() => close(fd));
  return fd;
}

async function receiver() {
  const client = await UdpClient.open();
  defer(() => client.close());
  return client;
}

describe('sendUdpBatch', () => {
  it('sends every datagram a failing one does not concern, and counts the failures with the first errno', async () => {
    const fd = sender();
    const peer = await receiver();
    const batch = new SendBatch(70_000, 8)
      .add(payload(0, 40), peer.port)
      .add(new Uint8Array(65_508), peer.port) // one byte over IPv4's largest UDP payload: EMSGSIZE
      .add(payload(2, 40), peer.port)
      .add(payload(3, 40), 0) // port 0: EINVAL
      .add(payload(4, 40), peer.port, FAMILY_IPV6, [0, 0, 0, 1]) // IPv6 on an IPv4 socket: EAFNOSUPPORT
      .add(payload(5, 40), peer.port);
    expect(sendUdpBatch(fd, batch.slab, batch.meta, batch.count)).toBe(6);
    expect([...batch.meta.subarray(0, UDP_META_HEADER_WORDS)]).toEqual([3, 3, EMSGSIZE, 0, 0, 120, 0, 0]);
    expect([0, 1, 2, 3, 4, 5].map((i) => batch.word(i, DGRAM_FLAGS))).toEqual([
      0,
      EMSGSIZE,
      0,
      EINVAL,
      EAFNOSUPPORT,
      0,
    ]);
    expect((await peer.waitFor(3)).map(seqOf)).toEqual([0, 2, 5]);
    expect(udpBatchError(-EMSGSIZE, 'sendmmsg').code).toBe('EMSGSIZE');
  });

  it('sends more datagrams than one sendmmsg chunk (64), in order, and returns 0 for none', async () => {
    const fd = sender();
    const peer = await receiver();
    const batch = new SendBatch(300 * 16, 300);
    for (let seq = 0; seq < 300; seq++) batch.add(payload(seq, 16), peer.port);
    expect(sendUdpBatch(fd, batch.slab, batch.meta, 300)).toBe(300);
    expect(batch.meta[UDP_META_SEND_SENT]).toBe(300);
    expect(batch.meta[UDP_META_SEND_SENT_BYTES]).toBe(300 * 16);
    expect((await peer.waitFor(300)).map(seqOf)).toEqual(Array.from({ length: 300 }, (_, seq) => seq));
    expect(sendUdpBatch(fd, batch.slab, batch.meta, 0)).toBe(0);
    expect(batch.meta[UDP_META_SEND_SENT]).toBe(0);
  });

  it('sends an empty datagram, even from an empty slab', async () => {
    const fd = sender();
    const peer = await receiver();
    const batch = new SendBatch(0, 1).add(new Uint8Array(0), peer.port);
    expect(sendUdpBatch(fd, batch.slab, batch.meta, 1)).toBe(1);
    expect((await peer.waitFor(1))[0]).toHaveLength(0);
  });

  it('with the smallest send buffer, reports exactly what a burst got out (loopback takes it all)', async () => {
    // Linux raises the size to its minimum (about 4.6 KiB). Over loopback this never fills: loopback_xmit
    // orphans each packet, returning its memory to the sender at once, so EAGAIN cannot be provoked here
    // (UdpBatchedSocket's EAGAIN handling is tested with an injected sender).
    const fd = sender(1);
    const peer = await receiver();
    const size = 60_000;
    const batch = new SendBatch(size, 128);
    const big = new Uint8Array(size);
    for (let i = 0; i < 128; i++) {
      batch.add(big.subarray(0, 0), peer.port);
      batch.set(i, DGRAM_LENGTH, i % 2 === 0 ? size : 100);
    }
    const done = sendUdpBatch(fd, batch.slab, batch.meta, 128);
    const header = batch.meta;
    expect(done).toBe(header[UDP_META_SEND_SENT]! + header[UDP_META_SEND_FAILED]!);
    expect(header[UDP_META_SEND_FAILED]).toBe(0);
    if (done < 128) expect(header[UDP_META_SEND_STOP_ERRNO]).toBe(EAGAIN);
    else expect(header[UDP_META_SEND_STOP_ERRNO]).toBe(0);
    expect(header[UDP_META_SEND_SENT_BYTES]).toBe(64 * size + 64 * 100);
    expect(header[UDP_META_SEND_ICMP_ERRORS]).toBe(0);
  });

  it('throws a RangeError before sending anything when a record is out of bounds', async () => {
    const fd = sender();
    const peer = await receiver();
    const bad: [string, (batch: SendBatch) => void][] = [
      ['offset past the slab', (b) => b.set(1, DGRAM_OFFSET, 64)],
      ['negative length', (b) => b.set(1, DGRAM_LENGTH, -1)],
      ['length past the slab', (b) => b.set(1, DGRAM_LENGTH, 57)],
      ['family 5', (b) => b.set(1, DGRAM_FAMILY, 5)],
      ['port 65536', (b) => b.set(1, DGRAM_PORT, 65_536)],
    ];
    for (const [what, spoil] of bad) {
      const batch = new SendBatch(64, 2).add(payload(0, 8), peer.port).add(payload(1, 8), peer.port);
      spoil(batch);
      expect(() => sendUdpBatch(fd, batch.slab, batch.meta, 2), what).toThrow(RangeError);
    }
    const batch = new SendBatch(8, 1).add(payload(99, 8), peer.port);
    expect(() => sendUdpBatch(fd, batch.slab, batch.meta, 2)).toThrow(RangeError); // more than meta holds
    expect(sendUdpBatch(fd, batch.slab, batch.meta, 1)).toBe(1);
    expect((await peer.waitFor(1)).map(seqOf)).toEqual([99]); // nothing before it got out
  });

  it('throws a SyscallError for an fd that is not a socket, and a TypeError for wrong arrays', () => {
    const batch = new SendBatch(8, 1).add(payload(0, 8), 9);
    let error: unknown;
    try {
      sendUdpBatch(0x7fff_fff0, batch.slab, batch.meta, 1);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(SyscallError);
    expect(error).toMatchObject({ code: 'EBADF', syscall: 'sendmmsg', fd: 0x7fff_fff0 });
    const fd = sender();
    expect(() => sendUdpBatch(fd, batch.slab, new Uint32Array(batch.meta.length) as never, 1)).toThrow(
      TypeError,
    );
    expect(() => sendUdpBatch(fd, new Int8Array(8) as never, batch.meta, 1)).toThrow(TypeError);
  });
});
