import { defineConfig } from 'vitest/config';

export default defineConfig({
  ssr: { resolve: { conditions: ['@cohort/source'] } },
  // Real servers and processes on a shared 2-core machine: generous limits, tight assertions.
  // One file at a time: the quick start and the cluster end-to-end test each run 7 processes,
  // and the cluster test times a restarted node's readiness (< 1 s) under its own load only.
  test: {
    include: ['src/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 180_000,
    fileParallelism: false,
  },
});
