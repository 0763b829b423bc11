import { defineConfig } from 'vitest/config';

export default defineConfig({
  ssr: { resolve: { conditions: ['@cohort/source'] } },
  test: {
    include: ['src/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Real servers (Tomcat, Pen, session nodes): one file at a time on two shared cores.
    fileParallelism: false,
    // Stops leftovers of an interrupted earlier run, and everything this run left, at the end.
    globalSetup: ['@cohort/peers/global-setup'],
  },
});
