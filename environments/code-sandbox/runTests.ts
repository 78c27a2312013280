/**
 * Runs a task's tests on a completion and reports each test's outcome: unit tests through the judge
 * (`unitTests.ts`), stdin/stdout cases one sandboxed run each (`ioCases.ts`). Results are memoised
 * for a short while by (task, program, options), so several reward checkers of one rollout share one
 * execution.
 */
import { createHash } from 'node:crypto';
import { type Extracted, extractProgram } from './extract.js';
import { runCases } from './ioCases.js';
import { DEFAULTS, type RunReport, type RunTestsOptions, summarize, type TestReport } from './report.js';
import type { CodeTaskData } from './task.js';
import { runUnitTests } from './unitTests.js';

export type { RunTestsOptions, TestOutcome, TestReport, TestStatus } from './report.js';

const memo = new Map<string, Promise<TestReport>>();
const MEMO_SIZE = 512;

/** Runs the tests of `task` on `completion`. Never throws for the program's faults; see `infraError`. */
export function runTests(
  task: CodeTaskData,
  completion: string,
  opts: RunTestsOptions = {},
): Promise<TestReport> {
  const extracted = extractProgram(completion, task, opts.extraction ?? 'auto', opts.finishReason);
  // How the program was found is part of the report, so part of the key; the finish reason only
  // matters through it (`missing`).
  const { finishReason: _, ...runOpts } = opts;
  const key = createHash('sha256')
    .update(JSON.stringify([task, extracted.program, extracted.method, extracted.missing ?? null, runOpts]))
    .digest('hex');
  let report = memo.get(key);
  if (!report) {
    report = execute(task, extracted, opts).then((r) => ({
      ...r,
      extraction: extracted.method,
      codeChars: extracted.codeChars,
    }));
    memo.set(key, report);
    // Infra and judge failures are not memoised: a retry must run again.
    report.then((r) => (r.infraError || r.judgeError) && memo.delete(key)).catch(() => memo.delete(key));
    if (memo.size > MEMO_SIZE) memo.delete(memo.keys().next().value!);
  }
  return report;
}

async function execute(task: CodeTaskData, extracted: Extracted, opts: RunTestsOptions): Promise<RunReport> {
  const program = extracted.program;
  const names = task.cases
    ? task.cases.slice(0, opts.maxCases ?? DEFAULTS.maxCases).map((_, i) => `case_${i}`)
    : (task.tests ?? []).map((_, i) => `test_${i}`);
  if (!program.trim()) {
    return summarize(
      names.map((name) => ({ name, status: 'error', error: noCodeReason(extracted) })),
      { stderrTail: [], runStatus: 'not_run', durationMs: 0 },
    );
  }
  if (names.length === 0) return summarize([], { stderrTail: [], runStatus: 'not_run', durationMs: 0 });
  return task.cases ? runCases(task, program, opts) : runUnitTests(task, program, names, opts);
}

function noCodeReason(extracted: Extracted): string {
  if (extracted.missing === 'truncated') return 'no answer: the sample was cut at the token limit';
  if (extracted.missing === 'unclosed_think') return 'no answer: <think> was never closed';
  return 'no code found in the completion';
}
