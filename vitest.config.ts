import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    // Test files share one serverless-offline and one S3 server; run files one at a time so
    // the two CI cores are not oversubscribed and timings stay meaningful.
    fileParallelism: false,
    // Packages the service and starts serverless-offline once for the whole run (test/setup/offline.ts);
    // s3Local.ts first gives the S3 server that serverless-s3-local starts inside it a port and a folder.
    globalSetup: ['test/setup/s3Local.ts', 'test/setup/offline.ts'],
  },
});
