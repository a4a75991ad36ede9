import { BaseSequencer, type TestSpecification } from 'vitest/node';

// The order test files start in: the browser suites first, then vitest's own order (the longest first by the
// durations a previous run cached, else the largest file first). Each browser suite is the longest file of the run by
// far (~30 s, mostly waiting on Chromium) and is only found among the largest files by size, which other suites have
// since outgrown: on a fresh clone, with no cached durations, they started a few files in and were the run's tail
// (npm test 71.8 s on a quiet machine, against 62.6 s with the order a cached run gives; issue 14).

const isBrowserSuite = (spec: TestSpecification) => spec.moduleId.endsWith('.browser.test.ts');

export default class BrowserSuitesFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    return [...sorted.filter(isBrowserSuite), ...sorted.filter((s) => !isBrowserSuite(s))];
  }
}
