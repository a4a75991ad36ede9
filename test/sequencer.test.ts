import type { TestSpecification, Vitest } from 'vitest/node';
import { describe, expect, it } from 'vitest';
import BrowserSuitesFirst from './harness/sequencer.js';

// The browser suites start first whatever vitest's own order would be (issue 14: on a fresh clone, ordered by file
// size, they started late and ended the run).

const project = { name: '', config: { sequence: { groupOrder: 0 }, isolate: false } };
const spec = (moduleId: string) => ({ moduleId: `/repo/${moduleId}`, project }) as unknown as TestSpecification;

function sequencer(sizes: Record<string, number>, durations: Record<string, number> = {}): BrowserSuitesFirst {
  const cache = {
    getFileTestResults: (key: string) => (key.slice(1) in durations ? { duration: durations[key.slice(1)], failed: false } : undefined),
    getFileStats: (key: string) => ({ size: sizes[key.slice(1)] ?? 0 }),
  };
  return new BrowserSuitesFirst({ cache, config: { root: '/repo' } } as unknown as Vitest);
}

describe('the test sequencer', () => {
  const files = ['test/big.test.ts', 'test/pages.browser.test.ts', 'src/small.test.ts', 'test/keys.browser.test.ts'];
  const order = async (s: BrowserSuitesFirst) => (await s.sort(files.map(spec))).map((f) => f.moduleId.slice('/repo/'.length));

  it('starts the browser suites first on a fresh clone, where vitest orders by size, and keeps its order after them', async () => {
    const sizes = { 'test/big.test.ts': 50_000, 'test/pages.browser.test.ts': 27_000, 'src/small.test.ts': 1_000, 'test/keys.browser.test.ts': 25_000 };
    expect(await order(sequencer(sizes))).toEqual(['test/pages.browser.test.ts', 'test/keys.browser.test.ts', 'test/big.test.ts', 'src/small.test.ts']);
  });

  it('does the same with cached durations (longest first)', async () => {
    const durations = { 'test/big.test.ts': 9_000, 'test/pages.browser.test.ts': 28_000, 'src/small.test.ts': 30_000, 'test/keys.browser.test.ts': 29_000 };
    expect(await order(sequencer({}, durations))).toEqual(['test/keys.browser.test.ts', 'test/pages.browser.test.ts', 'src/small.test.ts', 'test/big.test.ts']);
  });
});
