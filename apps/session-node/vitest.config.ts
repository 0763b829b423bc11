import { defineConfig } from 'vitest/config';

export default defineConfig({
  ssr: { resolve: { conditions: ['@cohort/source'] } },
  // Real sockets and child processes on a shared 2-core machine: generous limits.
  // One file at a time: the kill test times a restart, which other files' clusters would slow.
  test: {
    include: ['src/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    fileParallelism: false,
  },
});
