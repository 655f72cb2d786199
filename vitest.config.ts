import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The default `forks` pool runs each file in the main thread of a child process, so an engine started
    // in a test has a real main-thread coordinator (in `threads` the coordinator would itself be a worker).
    pool: 'forks',
    testTimeout: 30_000,
    // Workers run the TypeScript sources through tsx. Its disk cache leaves a file open in this process
    // when a worker is terminated mid-write (seen on Node 24 when piscina or a test ends a worker), which
    // the fd-leak checks would rightly flag; it is a dev-only artefact, so tests run without the cache.
    env: { TSX_DISABLE_CACHE: '1' },
    hookTimeout: 30_000,
  },
});
