import { defineConfig } from 'vitest/config';

export default defineConfig({
  ssr: { resolve: { conditions: ['@cohort/source'] } },
  // The fuzz and property tests run thousands of cases: give them room on a loaded 2-core machine.
  test: { include: ['src/**/*.test.ts'], testTimeout: 60_000 },
});
