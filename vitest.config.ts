import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    // Test files share one serverless-offline and one S3 server; run files one at a time so
    // the two CI cores are not oversubscribed and timings stay meaningful.
    fileParallelism: false,
  },
});
