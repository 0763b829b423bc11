import { defineConfig } from 'vitest/config';

export default defineConfig({
  ssr: { resolve: { conditions: ['@cohort/source'] } },
  test: { include: ['src/**/*.test.ts'], testTimeout: 180_000 },
});
