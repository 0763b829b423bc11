import { defineConfig } from 'vitest/config';

export default defineConfig({
  ssr: { resolve: { conditions: ['@cohort/source'] } },
  test: {
    include: ['src/**/*.test.ts'],
    // stops peers (Tomcat, httpd) that an interrupted run left behind, and this run's at the end
    globalSetup: ['@cohort/peers/global-setup'],
    testTimeout: 30_000,
    hookTimeout: 90_000,
  },
});
