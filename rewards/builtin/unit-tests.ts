/**
 * `unit-tests`: 1 when the program in the completion passes every unit test (or stdin/stdout case) of
 * a code task in the sandbox, else 0. Output range {0, 1}. Its sibling `unit-tests-fraction` scores
 * the fraction passed, in [0, 1].
 *
 * The tests run through the code-sandbox environment's test runner
 * (`environments/code-sandbox/runTests.ts`: the solution in one sandbox, a trusted judge holding the
 * tests in another, see `environments/code-sandbox/judge/`) — the one place a checker reaches above
 * `rewards/`, because running a task's tests is the environment's service. When the rollout already
 * ran the tests it left the report in `extra.tests`, and the checker reads it instead of running them
 * again.
 *
 * Details: `passed`, `total`, `tests` (each `{ name, status, error? }`, status one of pass, fail,
 * error, timeout, memory, output_limit, not_run), `timeouts`, `memory_hits`, `stderr_tail` (last
 * lines), `extraction` (fenced, whole, body, full_function), `run_status`, `duration_ms`,
 * `output_truncated` (the program printed past the output cap: graded on, its output cut) and
 * `violation` (the solution's process broke the test protocol: every test failed). A task with no
 * tests: not applicable. A sandbox infrastructure failure throws `SandboxInfraError` (retryable), a
 * failure of the judge itself throws `Error`: neither is ever the model's score. Running tests takes longer than `runChecker`'s default 1 s budget
 * when programs time out; callers that score without a rollout should pass a larger budget
 * (for instance `testTimeoutMs × tests + 5 s`).
 */
import { z } from 'zod';
import { type RunTestsOptions, runTests, type TestReport } from '../../environments/code-sandbox/runTests.js';
import { type CodeTaskData, codeTaskSchema, parseCodeRecord } from '../../environments/code-sandbox/task.js';
import { SandboxInfraError } from '../../sandbox/index.js';
import { defineReward, type RewardResult, type ScoredTask, type ScoredTrajectory } from '../api.js';

/** Config shared by `unit-tests` and `unit-tests-fraction`. */
export const unitTestsConfig = z
  .object({
    rerun: z
      .boolean()
      .default(false)
      .describe('Run the tests again even when the rollout stored a report in extra.tests. Default false.'),
    testTimeoutMs: z
      .number()
      .int()
      .positive()
      .default(3000)
      .describe('Time limit per test or case, ms. Default 3000.'),
    maxCases: z
      .number()
      .int()
      .positive()
      .default(10)
      .describe('stdin/stdout cases run (the first N). Default 10.'),
    memoryMb: z
      .number()
      .int()
      .min(64)
      .default(512)
      .describe('Address-space limit of the program, MiB. Default 512.'),
    extraction: z
      .enum(['auto', 'fenced', 'whole', 'body'])
      .default('auto')
      .describe('How code is taken from the completion (see the code-sandbox environment). Default auto.'),
    unsafe: z
      .boolean()
      .default(false)
      .describe('Trusted development only: run without isolation (warns on every run). Default false.'),
  })
  .describe('unit-tests checker config.');
export type UnitTestsConfig = z.output<typeof unitTestsConfig>;

const isReport = (x: unknown): x is TestReport =>
  !!x &&
  typeof x === 'object' &&
  Array.isArray((x as TestReport).tests) &&
  typeof (x as TestReport).total === 'number';

/** The task data of a scored task: stored code-task data, or a raw HumanEval/MBPP/IO record. */
function codeTask(task: ScoredTask): CodeTaskData {
  const parsed = codeTaskSchema.safeParse(task.data);
  return parsed.success ? parsed.data : parseCodeRecord(task.data, 0);
}

/**
 * The test report of a trajectory: the rollout's (`extra.tests`) unless `rerun` or it met an infrastructure
 * error, else a fresh run.
 * @throws SandboxInfraError when the sandbox failed for reasons that are not the program's.
 */
export async function testReport(
  t: ScoredTrajectory,
  task: ScoredTask,
  config: UnitTestsConfig,
): Promise<TestReport> {
  const stored = t.extra?.tests;
  // A stored report that met an infrastructure error is run again: that is how a retry re-scores it.
  const report =
    !config.rerun && isReport(stored) && !stored.infraError
      ? stored
      : await runTests(codeTask(task), t.completion, {
          limits: { memoryMb: config.memoryMb },
          testTimeoutMs: config.testTimeoutMs,
          maxCases: config.maxCases,
          extraction: config.extraction,
          finishReason: t.finishReason,
          unsafe: config.unsafe,
        } satisfies RunTestsOptions);
  if (report.infraError) throw new SandboxInfraError(report.infraError);
  if (report.judgeError) throw new Error(`unit-tests: the test judge failed: ${report.judgeError}`);
  return report;
}

/** The details every unit-test checker logs. */
export function reportDetails(r: TestReport): Record<string, unknown> {
  return {
    passed: r.passed,
    total: r.total,
    tests: r.tests.map((x) =>
      x.error ? { name: x.name, status: x.status, error: x.error } : { name: x.name, status: x.status },
    ),
    timeouts: r.timeouts,
    memory_hits: r.memoryHits,
    stderr_tail: r.stderrTail,
    extraction: r.extraction,
    run_status: r.runStatus,
    duration_ms: r.durationMs,
    output_truncated: r.outputTruncated ?? false,
    ...(r.violation ? { violation: r.violation } : {}),
  };
}

/** Scores with `value(report)`; a task without tests is not applicable. */
export async function scoreWith(
  t: ScoredTrajectory,
  task: ScoredTask,
  config: UnitTestsConfig,
  value: (r: TestReport) => number,
): Promise<RewardResult> {
  const report = await testReport(t, task, config);
  if (report.total === 0)
    return { value: 0, applicable: false, details: { reason: 'the task has no tests' } };
  return { value: value(report), details: reportDetails(report) };
}

/** The `unit-tests` checker: 1 if every test passes, else 0. */
export const unitTests = defineReward({
  name: 'unit-tests',
  description:
    '1 when the program passes all unit tests / stdin-stdout cases in the sandbox, else 0. Range {0, 1}.',
  configSchema: unitTestsConfig,
  range: [0, 1],
  // The sandbox is a subprocess with its own limits; a pool thread would only duplicate its state.
  runsIn: 'caller',
  score: (t, task, config) => scoreWith(t, task, config, (r) => (r.passed === r.total ? 1 : 0)),
});
