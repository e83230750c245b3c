import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Integration tests share one Docker engine, Postgres and Redis; files run one at a time
    // so container-heavy suites do not starve each other on 2-core machines.
    fileParallelism: false,
    pool: 'forks',
  },
});
