/**
 * Unit tests (HumanEval's `check`, MBPP's asserts, the easy set): run by a trusted judge in a sandbox
 * of its own, against the solution in another (see `judge/session.ts`). The budget of one run is the
 * solution's time to load, each test's limit and the start-up, capped by `limits.timeoutMs`.
 */

import { type JudgeSpec, runJudged } from './judge/session.js';
import { readVerdict } from './judge/verdict.js';
import { DEFAULTS, type RunReport, type RunTestsOptions, summarize, tail } from './report.js';
import type { CodeTaskData } from './task.js';

/** Interpreter and sandbox start-up allowed on top of the test budgets, seconds. */
const STARTUP_S = 2;

/** Runs the unit tests of `task` (named `names`) on `program`. */
export async function runUnitTests(
  task: CodeTaskData,
  program: string,
  names: string[],
  opts: RunTestsOptions,
): Promise<RunReport> {
  const testMs = opts.testTimeoutMs ?? DEFAULTS.testTimeoutMs;
  const solutionMs = opts.solutionTimeoutMs ?? DEFAULTS.solutionTimeoutMs;
  const spec: JudgeSpec = {
    prefix: task.codePrefix ?? '',
    setup: task.setup ?? '',
    tests: task.tests ?? [],
    entryPoint: task.entryPoint ?? null,
    solutionTimeoutS: solutionMs / 1000,
    testTimeoutS: testMs / 1000,
    startupS: STARTUP_S,
  };
  const budget = (task.setup ? 2 : 1) * solutionMs + names.length * testMs + STARTUP_S * 1000;
  const session = await runJudged(program, spec, {
    language: task.language,
    limits: opts.limits,
    timeoutMs: Math.min(budget, opts.limits?.timeoutMs ?? DEFAULTS.wallCapMs),
    unsafe: opts.unsafe,
  });
  const verdict = readVerdict(session, names);
  const { solution } = session;
  const report = summarize(verdict.tests, {
    stderrTail: tail(solution.stderr),
    runStatus: verdict.runStatus,
    outputTruncated: solution.truncated,
    durationMs: solution.durationMs,
  });
  if (verdict.infraError) return { ...report, infraError: verdict.infraError };
  if (verdict.judgeError) return { ...report, judgeError: verdict.judgeError };
  if (verdict.violation) return { ...report, violation: verdict.violation };
  return report;
}
