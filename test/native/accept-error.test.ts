import { describe, expect, it } from 'vitest';
import { InvalidOptionError, SockshardError, SyscallError } from '../../src/errors.js';
import { acceptError } from '../../src/native/binding.js';

describe('acceptError', () => {
  it('names the errno of a negative accept count as a SyscallError', () => {
    const error = acceptError(-24, { fd: 7 });
    expect(error).toBeInstanceOf(SyscallError);
    expect(error).toBeInstanceOf(SockshardError);
    expect(error).toMatchObject({
      name: 'SyscallError',
      code: 'EMFILE',
      errno: -24,
      syscall: 'accept4',
      fd: 7,
    });
    expect(error.message).toBe('accept4 EMFILE: too many open files (fd 7)');
    expect(acceptError(-23).code).toBe('ENFILE');
  });

  it('is told apart from other sockshard errors by its syscall fields', () => {
    expect(new InvalidOptionError('port', 'bad')).not.toBeInstanceOf(SyscallError);
    expect(new Error('plain')).not.toBeInstanceOf(SyscallError);
  });
});
