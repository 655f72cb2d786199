import { describe, expect, it } from 'vitest';
import { MAX_INLINE_BYTES, type RespCommand, RespParser } from '../../examples/resp-server/resp-parser.js';
import { prng } from '../helpers/prng.js';

function encode(...args: string[]): string {
  return `*${args.length}\r\n${args.map((arg) => `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`).join('')}`;
}

function texts(commands: RespCommand[]): string[][] {
  return commands.map((command) => command.map((arg) => arg.toString()));
}

const PIPELINE = [
  ['SET', 'key:1', 'value with spaces and \r\n inside'],
  ['GET', 'key:1'],
  ['PING'],
  ['INCR', 'counter'],
  ['ECHO', ''],
  ['DEL', 'a', 'b', 'c'],
];
const STREAM = `${PIPELINE.map((args) => encode(...args)).join('')}PING\r\nECHO  inline\tword \r\n`;
const EXPECTED = [...PIPELINE, ['PING'], ['ECHO', 'inline', 'word']];

describe('RESP request parser', () => {
  it('parses many pipelined commands, multibulk and inline, from one chunk', () => {
    const { commands, error } = new RespParser().push(Buffer.from(STREAM));
    expect(error).toBeUndefined();
    expect(texts(commands)).toEqual(EXPECTED);
  });

  it('gives the same commands for the stream cut at every byte', () => {
    const stream = Buffer.from(STREAM);
    for (let cut = 0; cut <= stream.length; cut++) {
      const parser = new RespParser();
      const first = parser.push(stream.subarray(0, cut));
      const second = parser.push(stream.subarray(cut));
      expect(texts([...first.commands, ...second.commands]), `cut at ${cut}`).toEqual(EXPECTED);
    }
  });

  it('gives the same commands for the stream in random chunks, byte by byte included', () => {
    const stream = Buffer.from(STREAM.repeat(20));
    const random = prng(7);
    for (let round = 0; round < 60; round++) {
      const parser = new RespParser();
      const commands: RespCommand[] = [];
      const maxChunk = round === 0 ? 1 : 1 + Math.floor(random() * 40);
      for (let offset = 0; offset < stream.length; ) {
        const size = 1 + Math.floor(random() * maxChunk);
        const result = parser.push(stream.subarray(offset, offset + size));
        expect(result.error).toBeUndefined();
        commands.push(...result.commands);
        offset += size;
      }
      expect(texts(commands)).toEqual(Array.from({ length: 20 }, () => EXPECTED).flat());
    }
  });

  it('gathers a large value sent in many chunks', () => {
    const value = 'v'.repeat(1 << 20);
    const stream = Buffer.from(encode('SET', 'big', value) + encode('GET', 'big'));
    const parser = new RespParser();
    const commands: RespCommand[] = [];
    for (let offset = 0; offset < stream.length; offset += 1000) {
      commands.push(...parser.push(stream.subarray(offset, offset + 1000)).commands);
    }
    expect(commands).toHaveLength(2);
    expect(commands[0]![2]!.length).toBe(value.length);
    expect(commands[0]![2]!.every((byte) => byte === 0x76)).toBe(true);
    expect(texts([commands[1]!])).toEqual([['GET', 'big']]);
  });

  it('keeps binary arguments byte for byte', () => {
    const value = Buffer.from([0, 255, 13, 10, 42, 36, 128]);
    const stream = Buffer.concat([
      Buffer.from(`*2\r\n$4\r\nECHO\r\n$${value.length}\r\n`),
      value,
      Buffer.from('\r\n'),
    ]);
    const { commands } = new RespParser().push(stream);
    expect(commands[0]![1]!.equals(value)).toBe(true);
  });

  it('skips empty requests (*0, *-1, blank lines) as Redis does', () => {
    const { commands, error } = new RespParser().push(
      Buffer.from(`*0\r\n*-1\r\n\r\n  \r\n${encode('PING')}`),
    );
    expect(error).toBeUndefined();
    expect(texts(commands)).toEqual([['PING']]);
  });

  it.each([
    ['a length that is not a number', '*x\r\n'],
    ['a bulk without $', '*1\r\n:4\r\nPING\r\n'],
    ['a bulk length that is not a number', '*1\r\n$4x\r\nPING\r\n'],
    ['a negative bulk length', '*1\r\n$-4\r\n'],
    ['a bulk not followed by CRLF', '*1\r\n$4\r\nPINGxx'],
    ['a length line without CR', '*1\n$4\r\nPING\r\n'],
    ['a length line that never ends', `*${'1'.repeat(40)}`],
    ['a huge argument count', '*99999999\r\n'],
    ['a huge bulk length', '*1\r\n$999999999\r\n'],
  ])('reports a protocol error for %s, after the commands before it', (_case, bad) => {
    const parser = new RespParser();
    const { commands, error } = parser.push(Buffer.from(encode('PING') + bad));
    expect(texts(commands)).toEqual([['PING']]);
    expect(error).toBeTypeOf('string');
    // The connection is done: nothing more comes out of this parser.
    expect(parser.push(Buffer.from(encode('PING'))).commands).toEqual([]);
  });

  it('refuses an inline request longer than the limit', () => {
    const parser = new RespParser();
    expect(parser.push(Buffer.alloc(MAX_INLINE_BYTES / 2, 0x61)).error).toBeUndefined();
    expect(parser.push(Buffer.alloc(MAX_INLINE_BYTES, 0x61)).error).toBe('too big inline request');
  });

  it('never throws on random bytes', () => {
    const random = prng(42);
    for (let round = 0; round < 2_000; round++) {
      const parser = new RespParser();
      const alphabet = [0x2a, 0x24, 0x0d, 0x0a, 0x30, 0x31, 0x39, 0x2d, 0x20, 0x41];
      const bytes = Buffer.from(
        Array.from({ length: 1 + Math.floor(random() * 64) }, () =>
          random() < 0.8 ? alphabet[Math.floor(random() * alphabet.length)]! : Math.floor(random() * 256),
        ),
      );
      expect(() => {
        parser.push(bytes.subarray(0, bytes.length >> 1));
        parser.push(bytes.subarray(bytes.length >> 1));
      }).not.toThrow();
    }
  });
});
