import { describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../../src/errors.js';
import { internetChecksum } from '../../src/icmp/checksum.js';
import {
  echoRequestLength,
  readEchoSerial,
  readEchoTimestamp,
  writeEchoRequest,
} from '../../src/icmp/echo-request.js';
import { parseIcmp } from '../../src/icmp/parse.js';
import { ECHO_REQUEST } from '../fixtures/icmp/captured.js';
import { ipv4 } from '../fixtures/icmp/packets.js';

describe('writeEchoRequest', () => {
  it('writes in place at an offset of a shared buffer, checksum filled in, and returns the length', () => {
    const ring = new Uint8Array(new SharedArrayBuffer(256)).fill(0xee);
    const length = writeEchoRequest(ring, 40, {
      identifier: 0xbeef,
      sequence: 0x0102,
      size: 56,
      timestamp: 123_456.789,
      serial: 0x1_0000_0102,
    });
    expect(length).toBe(64);
    expect(echoRequestLength(56)).toBe(64);
    expect(ring[39]).toBe(0xee);
    expect(ring[40 + 64]).toBe(0xee);
    const message = ring.subarray(40, 40 + length);
    expect([...message.subarray(0, 8)]).toEqual([8, 0, message[2], message[3], 0xbe, 0xef, 0x01, 0x02]);
    expect(internetChecksum(message)).toBe(0);
    const data = message.subarray(8);
    expect(readEchoTimestamp(data)).toBe(123_456.789);
    expect(readEchoSerial(data)).toBe(0x0102); // low 32 bits
    expect(data[12]).toBe(12);
    expect(data[55]).toBe(55);
  });

  it('reproduces the request the kernel looped back in the capture, byte for byte', () => {
    const out = new Uint8Array(40);
    const length = writeEchoRequest(out, 0, {
      identifier: 0x1234,
      sequence: 7,
      size: 32,
      timestamp: 1_700_000_000_000.5,
      serial: 7,
    });
    expect(Buffer.from(out.subarray(0, length)).equals(Buffer.from(ECHO_REQUEST.subarray(20)))).toBe(true);
  });

  it('round-trips through the parser once the kernel adds an IPv4 header, for every data size class', () => {
    for (const size of [0, 1, 7, 8, 11, 12, 13, 56, 1_472, 65_507]) {
      const message = new Uint8Array(echoRequestLength(size));
      writeEchoRequest(message, 0, { identifier: 9, sequence: 65_535, size, timestamp: 42, serial: 99 });
      const result = parseIcmp(ipv4({ payload: message }));
      if (!result.ok || result.packet.kind !== 'echoRequest') throw new Error(`size ${size}: not parsed`);
      expect(result.packet).toMatchObject({ identifier: 9, sequence: 65_535, dataLength: size });
      expect(readEchoTimestamp(result.packet.data)).toBe(size >= 8 ? 42 : Number.NaN);
      expect(readEchoSerial(result.packet.data)).toBe(size >= 12 ? 99 : -1);
    }
  });

  it('refuses fields out of range and a target too small, naming the option', () => {
    const out = new Uint8Array(64);
    const bad = (fields: Parameters<typeof writeEchoRequest>[2], offset = 0, target = out) => {
      try {
        writeEchoRequest(target, offset, fields);
      } catch (error) {
        expect(error).toBeInstanceOf(InvalidOptionError);
        return (error as InvalidOptionError).option;
      }
      return 'no error';
    };
    expect(bad({ identifier: 65_536, sequence: 0 })).toBe('identifier');
    expect(bad({ identifier: 1, sequence: -1 })).toBe('sequence');
    expect(bad({ identifier: 1, sequence: 1.5 })).toBe('sequence');
    expect(bad({ identifier: 1, sequence: 1, size: 65_508 })).toBe('size');
    expect(bad({ identifier: 1, sequence: 1 }, 1)).toBe('target'); // 64 bytes at offset 1 of 64
    expect(bad({ identifier: 1, sequence: 1, size: 8 }, 0, new Uint8Array(15))).toBe('target');
  });
});
