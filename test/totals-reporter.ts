import type { Reporter, TestModule } from "vitest/node";

/**
 * Ends every run with one plain line, `tests: N passed, N failed, N skipped`, that CI reads.
 * Skipped counts tests skipped or marked todo.
 */
export default class TotalsReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const totals = { passed: 0, failed: 0, skipped: 0 };
    for (const module of testModules) {
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === "passed") totals.passed += 1;
        else if (state === "failed") totals.failed += 1;
        else totals.skipped += 1;
      }
      if (module.state() === "failed" && [...module.children.allTests()].length === 0) totals.failed += 1;
    }
    process.stdout.write(`\ntests: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped\n`);
  }
}
