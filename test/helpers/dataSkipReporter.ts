/**
 * A vitest reporter that adds one line at the end of a run when tests were skipped for want of a full
 * data set (`fullDataOnly` in `test/helpers/data.ts`): how many, which sets, and how to run them.
 * The default reporter only counts skipped tests, which hides why.
 */
import type { Reporter, TestCase, TestModule, TestSuite } from 'vitest/node';
import { NEEDS_DATA } from './data.js';

/** The sets a test needed, from its own meta or its nearest suite's. */
function needs(test: TestCase): string | undefined {
  let node: TestCase | TestSuite | TestModule = test;
  for (;;) {
    const value = (node.meta() as Record<string, unknown>)[NEEDS_DATA];
    if (typeof value === 'string') return value;
    if (node.type === 'module') return undefined;
    node = node.parent;
  }
}

export default class DataSkipReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const sets = new Set<string>();
    let skipped = 0;
    for (const module of testModules) {
      for (const test of module.children.allTests('skipped')) {
        const names = needs(test);
        if (!names) continue;
        skipped++;
        for (const n of names.split(',')) sets.add(n);
      }
    }
    if (skipped === 0) return;
    process.stdout.write(
      `\nskipped ${skipped} test(s) about whole data sets (${[...sets].sort().join(', ')}): the rest ran on ` +
        'the excerpts in test/fixtures/data. To run them, set MULTIGYM_DATA=DIR (a directory laid out ' +
        'like ../shared/data), or run `npx multigym data fetch all` (GSM8K, MATH-500, HumanEval, BFCL ' +
        'into .multigym/data).\n',
    );
  }
}
