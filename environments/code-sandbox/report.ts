/** The report of one test run (what the `unit-tests` checkers score), and helpers to build it. */
import type { SandboxLimits, SandboxStatus } from '../../sandbox/index.js';
import type { ExtractionMethod, ExtractionMode } from './extract.js';

/** Outcome of one test: `not_run` when an earlier failure (crash, timeout) stopped the program. */
export type TestStatus = 'pass' | 'fail' | 'error' | 'timeout' | 'memory' | 'output_limit' | 'not_run';

/** One test's outcome. */
export interface TestOutcome {
  /** `test_0`, `test_1`… (unit tests) or `case_0`… (stdin/stdout). */
  name: string;
  status: TestStatus;
  /** Last line(s) of the exception, or expected/got for a wrong output. */
  error?: string;
  /** Time the test took, ms (unit tests: measured by the judge). */
  ms?: number;
}

/** Everything a checker needs (JSON only: stored in the rollout's `extra.tests`). */
export interface TestReport {
  passed: number;
  total: number;
  tests: TestOutcome[];
  /** Tests that hit the per-test or wall-clock limit. */
  timeouts: number;
  /** Tests that hit the memory limit. */
  memoryHits: number;
  /** Last lines of stderr of the (first failing) run. */
  stderrTail: string[];
  extraction: ExtractionMethod;
  /** Characters of model-written code; 0 means nothing was extracted and nothing ran. */
  codeChars: number;
  /** Sandbox status of the solution's run (unit tests) or the worst case (stdin/stdout). */
  runStatus: SandboxStatus | 'not_run';
  /** The program wrote more than the output cap to stdout or stderr: kept its first bytes, graded anyway. */
  outputTruncated?: boolean;
  /** The solution's process broke the test protocol (forged or out-of-order lines): every test failed. */
  violation?: string;
  /** The judge itself failed (a broken task or a fault of ours): the report must not be scored. */
  judgeError?: string;
  /** Set when the sandbox failed for reasons that are not the program's: the report must not be scored. */
  infraError?: string;
  durationMs: number;
}

/** A report before the extraction fields are added. */
export type RunReport = Omit<TestReport, 'extraction' | 'codeChars'>;

/** Options of a test run. */
export interface RunTestsOptions {
  /** Sandbox limits; `timeoutMs` caps the wall clock of one whole run. */
  limits?: Partial<SandboxLimits>;
  /** Per-test (unit) or per-case (stdin/stdout) time limit, ms. */
  testTimeoutMs?: number;
  /** Time to define the solution (its module-level code), ms. */
  solutionTimeoutMs?: number;
  /** stdin/stdout cases run at most (the first ones). */
  maxCases?: number;
  extraction?: ExtractionMode;
  /** The sample's finish reason: `length` (cut at the token limit) means no answer to run. */
  finishReason?: string;
  /** Run without isolation (trusted development only; warns every run). */
  unsafe?: boolean;
}

export const DEFAULTS = { testTimeoutMs: 3000, solutionTimeoutMs: 3000, maxCases: 10, wallCapMs: 60_000 };
const STDERR_LINES = 5;

/** Counts the outcomes into a report. */
export function summarize(
  tests: TestOutcome[],
  rest: Omit<RunReport, 'passed' | 'total' | 'tests' | 'timeouts' | 'memoryHits'>,
): RunReport {
  return {
    passed: tests.filter((t) => t.status === 'pass').length,
    total: tests.length,
    tests,
    timeouts: tests.filter((t) => t.status === 'timeout').length,
    memoryHits: tests.filter((t) => t.status === 'memory').length,
    ...rest,
  };
}

/** The last non-empty lines of stderr, each cut to 300 characters. */
export function tail(stderr: string): string[] {
  return stderr
    .split('\n')
    .filter((l) => l.trim())
    .slice(-STDERR_LINES)
    .map((l) => l.slice(0, 300));
}
