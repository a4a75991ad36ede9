import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
    // Each worker runs file after file on one module graph: loading the server stack (~3 s of CPU) and building the
    // tokenizer (~2 s) once per worker instead of once per file took the suite from ~330 to ~110 s of CPU. Safe
    // because no suite mocks modules, stubs globals or the environment, fakes timers, or leaves process listeners;
    // module state in src/ is caches. A suite that needs those must restore them (scan-cli.test.ts restores its
    // working directory and output streams); `npx vitest run --sequence.shuffle` surfaces one that leaks.
    isolate: false,
  },
});
