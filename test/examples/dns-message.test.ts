import { describe, expect, it } from 'vitest';
import {
  answerQuery,
  buildQuery,
  CLASS_IN,
  HEADER_BYTES,
  parseQuery,
  RCODE_FORMERR,
  RCODE_NOTIMP,
  TYPE_A,
} from '../../examples/udp-dns/dns-message.js';
import { prng } from '../helpers/prng.js';

const TYPE_AAAA = 28;

function header(reply: Uint8Array) {
  const view = new DataView(reply.buffer, reply.byteOffset, reply.byteLength);
  const flags = view.getUint16(2);
  return {
    id: view.getUint16(0),
    qr: (flags & 0x8000) !== 0,
    opcode: (flags >> 11) & 0xf,
    aa: (flags & 0x0400) !== 0,
    rd: (flags & 0x0100) !== 0,
    rcode: flags & 0xf,
    qdcount: view.getUint16(4),
    ancount: view.getUint16(6),
  };
}

describe('DNS message (udp-dns example)', () => {
  it('answers an A query with one A record for 127.0.0.1 that points back at the question', () => {
    const query = buildQuery(0xbeef, 'www.Example.test');
    const parsed = parseQuery(query);
    expect(parsed).toMatchObject({
      ok: true,
      question: { name: 'www.Example.test', type: TYPE_A, class: CLASS_IN },
    });
    const reply = answerQuery(query)!;
    expect(header(reply)).toEqual({
      id: 0xbeef,
      qr: true,
      opcode: 0,
      aa: true,
      rd: true,
      rcode: 0,
      qdcount: 1,
      ancount: 1,
    });
    // The question comes back unchanged, then the answer: pointer to offset 12, A, IN, TTL 60, 4 bytes.
    expect(Buffer.from(reply.subarray(HEADER_BYTES, query.length))).toEqual(
      Buffer.from(query.subarray(HEADER_BYTES)),
    );
    expect([...reply.subarray(query.length)]).toEqual([
      0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 127, 0, 0, 1,
    ]);
  });

  it('answers other types with an empty NOERROR answer', () => {
    const reply = answerQuery(buildQuery(7, 'example.test', TYPE_AAAA))!;
    expect(header(reply)).toMatchObject({ id: 7, rcode: 0, qdcount: 1, ancount: 0 });
  });

  it('tolerates an EDNS OPT record in the additional section (as resolvers send)', () => {
    const query = buildQuery(9, 'example.test');
    const opt = [0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 0];
    const withOpt = new Uint8Array([...query, ...opt]);
    new DataView(withOpt.buffer).setUint16(10, 1);
    expect(header(answerQuery(withOpt)!)).toMatchObject({ id: 9, rcode: 0, ancount: 1 });
  });

  it('stays silent for what is not a query: too short, or a response', () => {
    expect(answerQuery(new Uint8Array(0))).toBeNull();
    expect(answerQuery(new Uint8Array(11))).toBeNull();
    const response = answerQuery(buildQuery(1, 'example.test'))!;
    expect(answerQuery(response)).toBeNull();
  });

  it('answers FORMERR to a malformed question and NOTIMP to another opcode, with the query id', () => {
    const query = buildQuery(0x1234, 'example.test');
    const cases: [string, Uint8Array, number][] = [
      ['no question', query.subarray(0, HEADER_BYTES), RCODE_FORMERR],
      ['a name cut short', query.subarray(0, HEADER_BYTES + 5), RCODE_FORMERR],
      ['no type and class', query.subarray(0, query.length - 3), RCODE_FORMERR],
      ['a compression pointer', patched(query, HEADER_BYTES, 0xc0), RCODE_FORMERR],
      ['a label over 63 bytes', patched(query, HEADER_BYTES, 64), RCODE_FORMERR],
      ['two questions', patched(query, 5, 2), RCODE_FORMERR],
      ['opcode STATUS', patched(query, 2, 0x10), RCODE_NOTIMP],
    ];
    for (const [name, bad, rcode] of cases) {
      const reply = answerQuery(bad);
      expect(reply, name).not.toBeNull();
      expect(header(reply!), name).toMatchObject({ id: 0x1234, qr: true, rcode, ancount: 0 });
    }
  });

  it('refuses a name longer than 255 bytes', () => {
    const long = Array.from({ length: 5 }, () => 'a'.repeat(63)).join('.');
    expect(header(answerQuery(buildQuery(3, long))!).rcode).toBe(RCODE_FORMERR);
  });

  it('never throws: random datagrams, every truncation and random corruptions of a query', () => {
    const random = prng(1234);
    const query = buildQuery(0x4242, 'some.name.example.test');
    for (let length = 0; length <= query.length; length++)
      expect(() => answerQuery(query.subarray(0, length))).not.toThrow();
    for (let round = 0; round < 20_000; round++) {
      const bytes =
        round % 2 === 0
          ? Uint8Array.from({ length: Math.floor(random() * 80) }, () => Math.floor(random() * 256))
          : Uint8Array.from(query, (byte) => (random() < 0.1 ? Math.floor(random() * 256) : byte));
      let reply: Uint8Array | null = null;
      expect(() => {
        reply = answerQuery(bytes);
      }).not.toThrow();
      if (reply !== null) expect(header(reply).qr).toBe(true);
    }
  });
});

function patched(bytes: Uint8Array, offset: number, value: number): Uint8Array {
  const copy = Uint8Array.from(bytes);
  copy[offset] = value;
  return copy;
}
