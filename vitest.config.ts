import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 90_000,
    // Integration suites each start a daemon (models, source, broker); two cores run two at a time.
    fileParallelism: true,
    maxWorkers: 2,
    reporters: ['default'],
  },
});
