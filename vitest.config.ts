import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'test/**/*.test.ts',
      'environments/**/*.test.ts',
      'rewards/**/*.test.ts',
      'policy/**/*.test.ts',
      'db/**/*.test.ts',
    ],
    exclude: ['node_modules', '.venv', 'policy/worker'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    // Integration tests share one Temporal dev server, one policy worker and 2 cores: run files one at a time.
    fileParallelism: false,
    // The default output, plus one line naming the tests skipped for want of a full data set.
    reporters: ['default', './test/helpers/dataSkipReporter.ts'],
  },
});
