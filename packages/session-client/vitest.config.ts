import { defineConfig } from 'vitest/config';

export default defineConfig({
  ssr: { resolve: { conditions: ['@cohort/source'] } },
  test: {
    include: ['src/**/*.test.ts'],
    // stops redis-server processes that an interrupted run left behind, and this run's at the end
    globalSetup: ['@cohort/peers/global-setup'],
    // Tests start real servers and run fuzz cases: give them room on a loaded 2-core machine.
    testTimeout: 60_000,
    hookTimeout: 90_000,
  },
});
