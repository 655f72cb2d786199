import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';

// Stands in for a machine where no prebuilt binary fits and node-gyp failed: every require() throws.
vi.mock('node:module', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:module')>();
  const failingRequire = (): never => {
    throw Object.assign(new Error('Cannot find module sockshard_native.node'), { code: 'MODULE_NOT_FOUND' });
  };
  return { ...actual, createRequire: () => failingRequire };
});

const { NativeAddonUnavailableError, SockshardError } = await import('../../src/errors.js');
const { listen, loadNative, nativeAvailable } = await import('../../src/native/binding.js');

describe('when the addon cannot be loaded', () => {
  it('imports fine, reports itself unavailable, and throws a typed error on use', () => {
    expect(nativeAvailable()).toBe(false);
    let error: unknown;
    try {
      loadNative();
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(NativeAddonUnavailableError);
    expect(error).toBeInstanceOf(SockshardError);
    expect(error).toMatchObject({
      code: 'ERR_NATIVE_UNAVAILABLE',
      // The package folder, where node-gyp-build looked (build/Release, then prebuilds/).
      path: fileURLToPath(new URL('../../', import.meta.url)),
      cause: expect.objectContaining({ code: 'MODULE_NOT_FOUND' }),
    });
    expect((error as Error).message).toContain('npm rebuild sockshard');
    expect(() => listen({ host: '127.0.0.1', port: 0 })).toThrow(NativeAddonUnavailableError);
  });
});
