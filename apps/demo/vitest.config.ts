import { defineConfig } from 'vitest/config';

export default defineConfig({
  ssr: { resolve: { conditions: ['@cohort/source'] } },
  // Real servers and processes on a shared 2-core machine: generous limits, tight assertions.
  test: { include: ['src/**/*.test.ts'], testTimeout: 20_000, hookTimeout: 180_000 },
});
