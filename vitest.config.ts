import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The default `forks` pool runs each file in the main thread of a child process, so an engine started
    // in a test has a real main-thread coordinator (in `threads` the coordinator would itself be a worker).
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
