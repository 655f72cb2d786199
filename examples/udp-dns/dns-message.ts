/**
 * Just enough DNS (RFC 1035) to answer A queries: parse the header and the one question of a standard
 * query, and build the reply. Pure functions over bytes, so they run the same in any shard and never throw:
 * a datagram too short for a header, or one that is itself a response, gets no answer at all (answering
 * responses is how two servers end up in a loop); a malformed question gets FORMERR, any opcode but a
 * standard query NOTIMP.
 *
 * Header (12 bytes, big-endian):
 *   offset 0 ID | 2 flags: QR(15) OPCODE(14..11) AA(10) TC(9) RD(8) RA(7) Z(6..4) RCODE(3..0)
 *          4 QDCOUNT | 6 ANCOUNT | 8 NSCOUNT | 10 ARCOUNT
 * Question: QNAME (length-prefixed labels ending in a zero byte) | QTYPE (2) | QCLASS (2)
 */

export const HEADER_BYTES = 12;
const OFFSET_ID = 0;
const OFFSET_FLAGS = 2;
const OFFSET_QDCOUNT = 4;
const OFFSET_ANCOUNT = 6;

const FLAG_QR = 0x8000;
const FLAG_AA = 0x0400;
const FLAG_RD = 0x0100;
const OPCODE_MASK = 0x7800;
const OPCODE_QUERY = 0;

export const RCODE_NOERROR = 0;
export const RCODE_FORMERR = 1;
export const RCODE_NOTIMP = 4;

export const TYPE_A = 1;
export const TYPE_ANY = 255;
export const CLASS_IN = 1;

const MAX_LABEL = 63;
/** The wire length of a name, length bytes and final zero included (RFC 1035 2.3.4). */
const MAX_NAME = 255;
/** Label bytes with the top two bits set are compression pointers (or reserved kinds): never in a query's question. */
const LABEL_KIND_MASK = 0xc0;
/** A pointer to offset 12, where the question's name starts: answers name it without repeating it. */
const POINTER_TO_QUESTION = 0xc00c;
const ANSWER_TTL_SECONDS = 60;
const IPV4_BYTES = 4;

export interface DnsQuestion {
  readonly id: number;
  /** The client asked for recursion (echoed back as RD; we never recurse, so RA stays 0). */
  readonly recursionDesired: boolean;
  /** Dotted, as sent (DNS names compare case-insensitively; this one is not lowered). */
  readonly name: string;
  readonly type: number;
  readonly class: number;
  /** The question's bytes, header excluded: offset 12 up to here is copied into the reply. */
  readonly questionEnd: number;
}

export type ParsedQuery =
  | { readonly ok: true; readonly question: DnsQuestion }
  /** `id` absent: not worth an answer (too short, or a response). */
  | { readonly ok: false; readonly rcode: number; readonly id?: number; readonly flags?: number };

/** Parses a query's header and single question. Never throws. */
export function parseQuery(data: Uint8Array): ParsedQuery {
  if (data.length < HEADER_BYTES) return { ok: false, rcode: RCODE_FORMERR };
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const id = view.getUint16(OFFSET_ID);
  const flags = view.getUint16(OFFSET_FLAGS);
  if ((flags & FLAG_QR) !== 0) return { ok: false, rcode: RCODE_FORMERR };
  if ((flags & OPCODE_MASK) >> 11 !== OPCODE_QUERY) return { ok: false, rcode: RCODE_NOTIMP, id, flags };
  // Other counts are ignored: resolvers add an OPT record (EDNS) in the additional section, and we answer
  // without one, which RFC 6891 allows.
  if (view.getUint16(OFFSET_QDCOUNT) !== 1) return { ok: false, rcode: RCODE_FORMERR, id, flags };
  const labels: string[] = [];
  let offset = HEADER_BYTES;
  let nameBytes = 0;
  for (;;) {
    if (offset >= data.length) return { ok: false, rcode: RCODE_FORMERR, id, flags };
    const length = data[offset]!;
    nameBytes += length + 1;
    if ((length & LABEL_KIND_MASK) !== 0 || length > MAX_LABEL || nameBytes > MAX_NAME) {
      return { ok: false, rcode: RCODE_FORMERR, id, flags };
    }
    offset += 1;
    if (length === 0) break;
    if (offset + length > data.length) return { ok: false, rcode: RCODE_FORMERR, id, flags };
    labels.push(String.fromCharCode(...data.subarray(offset, offset + length)));
    offset += length;
  }
  if (offset + 4 > data.length) return { ok: false, rcode: RCODE_FORMERR, id, flags };
  return {
    ok: true,
    question: {
      id,
      recursionDesired: (flags & FLAG_RD) !== 0,
      name: labels.length === 0 ? '.' : labels.join('.'),
      type: view.getUint16(offset),
      class: view.getUint16(offset + 2),
      questionEnd: offset + 4,
    },
  };
}

/**
 * The reply to `query`, or null when it deserves none. A and ANY questions in class IN get one A record
 * with `address`; other types get an empty NOERROR answer (the name exists, without that type of record).
 */
export function answerQuery(
  query: Uint8Array,
  address: readonly number[] = [127, 0, 0, 1],
): Uint8Array | null {
  const parsed = parseQuery(query);
  if (!parsed.ok) {
    if (parsed.id === undefined) return null;
    return errorReply(parsed.id, parsed.flags ?? 0, parsed.rcode);
  }
  const { question } = parsed;
  const answers = question.class === CLASS_IN && (question.type === TYPE_A || question.type === TYPE_ANY);
  const questionBytes = question.questionEnd - HEADER_BYTES;
  const answerBytes = answers ? 2 + 2 + 2 + 4 + 2 + IPV4_BYTES : 0;
  const reply = new Uint8Array(HEADER_BYTES + questionBytes + answerBytes);
  const view = new DataView(reply.buffer);
  view.setUint16(OFFSET_ID, question.id);
  view.setUint16(OFFSET_FLAGS, FLAG_QR | FLAG_AA | (question.recursionDesired ? FLAG_RD : 0) | RCODE_NOERROR);
  view.setUint16(OFFSET_QDCOUNT, 1);
  view.setUint16(OFFSET_ANCOUNT, answers ? 1 : 0);
  reply.set(query.subarray(HEADER_BYTES, question.questionEnd), HEADER_BYTES);
  if (answers) {
    let offset = question.questionEnd;
    view.setUint16(offset, POINTER_TO_QUESTION);
    view.setUint16(offset + 2, TYPE_A);
    view.setUint16(offset + 4, CLASS_IN);
    view.setUint32(offset + 6, ANSWER_TTL_SECONDS);
    view.setUint16(offset + 10, IPV4_BYTES);
    offset += 12;
    for (let i = 0; i < IPV4_BYTES; i++) reply[offset + i] = address[i]! & 0xff;
  }
  return reply;
}

/** A header-only reply: the query's ID, opcode and RD, with `rcode`. */
function errorReply(id: number, queryFlags: number, rcode: number): Uint8Array {
  const reply = new Uint8Array(HEADER_BYTES);
  const view = new DataView(reply.buffer);
  view.setUint16(OFFSET_ID, id);
  view.setUint16(OFFSET_FLAGS, FLAG_QR | (queryFlags & (OPCODE_MASK | FLAG_RD)) | rcode);
  return reply;
}

/** Builds a standard query for `name` (for tests and clients): ID, RD set, one question. */
export function buildQuery(id: number, name: string, type = TYPE_A, qclass = CLASS_IN): Uint8Array {
  const labels = name === '.' || name === '' ? [] : name.replace(/\.$/, '').split('.');
  const nameBytes = labels.reduce((total, label) => total + 1 + label.length, 1);
  const query = new Uint8Array(HEADER_BYTES + nameBytes + 4);
  const view = new DataView(query.buffer);
  view.setUint16(OFFSET_ID, id);
  view.setUint16(OFFSET_FLAGS, FLAG_RD);
  view.setUint16(OFFSET_QDCOUNT, 1);
  let offset = HEADER_BYTES;
  for (const label of labels) {
    query[offset++] = label.length;
    for (let i = 0; i < label.length; i++) query[offset++] = label.charCodeAt(i) & 0xff;
  }
  query[offset++] = 0;
  view.setUint16(offset, type);
  view.setUint16(offset + 2, qclass);
  return query;
}
