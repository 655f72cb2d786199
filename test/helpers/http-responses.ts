import net from 'node:net';

/** One HTTP/1.x response as a test client reads it off the wire. */
export interface WireResponse {
  readonly status: number;
  readonly reason: string;
  /** Names lower-cased; repeated headers keep every value. */
  readonly headers: ReadonlyMap<string, readonly string[]>;
  readonly body: Buffer;
  /** The body came in chunked coding. */
  readonly chunked: boolean;
  /** Every byte of the response as it arrived (head and body). */
  readonly raw: Buffer;
}

export function header(response: WireResponse, name: string): string | undefined {
  return response.headers.get(name)?.join(', ');
}

/**
 * Parses responses from the bytes a connection received (a test's own small parser: just strict enough
 * to check a server). `headRequests` are the indexes of responses to HEAD requests (no body). A response
 * with neither content-length nor chunked coding runs to the end of the bytes (`ended` must then hold).
 * Returns the complete responses and how many bytes they used.
 */
export function parseResponses(
  bytes: Buffer,
  headRequests: ReadonlySet<number> = new Set(),
  ended = false,
): { responses: WireResponse[]; used: number } {
  const responses: WireResponse[] = [];
  let at = 0;
  for (;;) {
    const headEnd = bytes.indexOf('\r\n\r\n', at);
    if (headEnd === -1) break;
    const lines = bytes.toString('latin1', at, headEnd).split('\r\n');
    const match = /^HTTP\/1\.[01] (\d{3}) ?(.*)$/.exec(lines[0]!);
    if (match === null) throw new Error(`not a status line: ${JSON.stringify(lines[0])}`);
    const headers = new Map<string, string[]>();
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      if (colon <= 0) throw new Error(`not a header line: ${JSON.stringify(line)}`);
      const name = line.slice(0, colon).toLowerCase();
      headers.set(name, [...(headers.get(name) ?? []), line.slice(colon + 1).trim()]);
    }
    const status = Number(match[1]);
    let bodyAt = headEnd + 4;
    let body: Buffer;
    let end: number;
    const chunked = headers.get('transfer-encoding')?.join(',').toLowerCase() === 'chunked';
    const length = headers.get('content-length');
    if (status < 200 || status === 204 || status === 304 || headRequests.has(responses.length)) {
      body = Buffer.alloc(0);
      end = bodyAt;
    } else if (chunked) {
      const parts: Buffer[] = [];
      let done = false;
      for (;;) {
        const lineEnd = bytes.indexOf('\r\n', bodyAt);
        if (lineEnd === -1) break;
        const size = Number.parseInt(bytes.toString('latin1', bodyAt, lineEnd), 16);
        if (size === 0) {
          if (bytes.length < lineEnd + 4) break;
          end = lineEnd + 4;
          done = true;
          break;
        }
        if (bytes.length < lineEnd + 2 + size + 2) break;
        parts.push(bytes.subarray(lineEnd + 2, lineEnd + 2 + size));
        bodyAt = lineEnd + 2 + size + 2;
      }
      if (!done) break;
      body = Buffer.concat(parts);
      end = end!;
    } else if (length !== undefined) {
      const n = Number(length[0]);
      if (bytes.length < bodyAt + n) break;
      body = bytes.subarray(bodyAt, bodyAt + n);
      end = bodyAt + n;
    } else {
      if (!ended) break;
      body = bytes.subarray(bodyAt);
      end = bytes.length;
    }
    responses.push({
      status,
      reason: match[2]!,
      headers,
      body: Buffer.from(body),
      chunked,
      raw: Buffer.from(bytes.subarray(at, end)),
    });
    at = end;
    if (status >= 100 && status < 200) continue;
  }
  return { responses, used: at };
}

/** A test client connection: write bytes, then read responses or the close. */
export class WireClient {
  readonly socket: net.Socket;
  #bytes = Buffer.alloc(0);
  #ended = false;
  #closed = false;
  #waiters: (() => void)[] = [];
  readonly headRequests = new Set<number>();

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.#bytes = Buffer.concat([this.#bytes, chunk]);
      this.#wake();
    });
    socket.on('end', () => {
      this.#ended = true;
      this.#wake();
    });
    // A reset is how a server may end a connection too.
    socket.on('error', () => {});
    socket.on('close', () => {
      this.#ended = true;
      this.#closed = true;
      this.#wake();
    });
  }

  static async connect(port: number, host = '127.0.0.1'): Promise<WireClient> {
    const socket = net.connect({ port, host });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new WireClient(socket);
  }

  write(bytes: string | Uint8Array): void {
    this.socket.write(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes);
  }

  /** Writes one byte per write, each after the previous left this process (fragmented input). */
  async writeSlowly(bytes: string | Uint8Array): Promise<void> {
    const buffer = typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : Buffer.from(bytes);
    for (let i = 0; i < buffer.length; i++) {
      await new Promise<void>((resolve) => this.socket.write(buffer.subarray(i, i + 1), () => resolve()));
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  get bytes(): Buffer {
    return this.#bytes;
  }

  get ended(): boolean {
    return this.#ended;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Resolves with the first `count` final responses (1xx are included in order but not counted). */
  async responses(count: number): Promise<WireResponse[]> {
    for (;;) {
      const { responses } = parseResponses(this.#bytes, this.headRequests, this.#ended);
      if (responses.filter((r) => r.status >= 200).length >= count) return responses;
      if (this.#ended) {
        throw new Error(
          `connection ended after ${responses.length} responses (wanted ${count}): ${JSON.stringify(this.#bytes.toString('latin1').slice(0, 400))}`,
        );
      }
      await this.#next();
    }
  }

  /** Resolves with every response once the server has closed the connection. */
  async untilEnd(): Promise<WireResponse[]> {
    while (!this.#ended) await this.#next();
    return parseResponses(this.#bytes, this.headRequests, true).responses;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    const closed = new Promise<void>((resolve) => this.socket.once('close', () => resolve()));
    this.socket.destroy();
    await closed;
  }

  #next(): Promise<void> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  #wake(): void {
    for (const waiter of this.#waiters.splice(0)) waiter();
  }
}
