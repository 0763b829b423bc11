import { defineConfig } from 'vitest/config';

export default defineConfig({
  ssr: { resolve: { conditions: ['@cohort/source'] } },
  test: {
    include: ['src/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Real servers: one file at a time keeps Tomcat startups from fighting over two cores.
    fileParallelism: false,
    // Stops leftovers of an interrupted earlier run, and everything this run left, at the end.
    globalSetup: ['./src/global-setup.ts'],
  },
});
