/**
 * Runs a task's tests on a completion in the sandbox and reports each test's outcome: unit tests
 * (HumanEval, MBPP, easy) in one harness run, stdin/stdout cases one sandboxed run each (in parallel,
 * through the pool). Results are memoised for a short while by (task, program, options), so several
 * reward checkers of one rollout share one execution.
 */
import { createHash } from 'node:crypto';
import {
  runInSandbox,
  type SandboxLimits,
  type SandboxResult,
  type SandboxStatus,
} from '../../sandbox/index.js';
import { type ExtractionMethod, type ExtractionMode, extractProgram } from './extract.js';
import { HARNESS_PY, type HarnessReport, type HarnessSpec } from './harness.js';
import type { CodeTaskData } from './task.js';

/** Outcome of one test: `not_run` when an earlier failure (crash, timeout) stopped the program. */
export type TestStatus = 'pass' | 'fail' | 'error' | 'timeout' | 'memory' | 'output_limit' | 'not_run';

/** One test's outcome. */
export interface TestOutcome {
  /** `test_0`, `test_1`… (unit tests) or `case_0`… (stdin/stdout). */
  name: string;
  status: TestStatus;
  /** Last line(s) of the exception, or expected/got for a wrong output. */
  error?: string;
  /** Time the test took inside the sandbox, ms (unit tests). */
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
  /** Sandbox status of the run (unit tests) or the worst case (stdin/stdout). */
  runStatus: SandboxStatus | 'not_run';
  /** Set when the sandbox failed for reasons that are not the program's: the report must not be scored. */
  infraError?: string;
  durationMs: number;
}

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
  /** Run without isolation (trusted development only; warns every run). */
  unsafe?: boolean;
}

const DEFAULTS = { testTimeoutMs: 3000, solutionTimeoutMs: 3000, maxCases: 10, wallCapMs: 60_000 };
/** Interpreter start-up and harness overhead allowed on top of the test budgets, ms. */
const STARTUP_MS = 2000;
const STDERR_LINES = 5;

const memo = new Map<string, Promise<TestReport>>();
const MEMO_SIZE = 512;

/** Runs the tests of `task` on `completion`. Never throws for the program's faults; see `infraError`. */
export function runTests(
  task: CodeTaskData,
  completion: string,
  opts: RunTestsOptions = {},
): Promise<TestReport> {
  const extracted = extractProgram(completion, task, opts.extraction ?? 'auto');
  const key = createHash('sha256')
    .update(JSON.stringify([task.source, task.tests, task.cases, extracted.program, opts]))
    .digest('hex');
  let report = memo.get(key);
  if (!report) {
    report = execute(task, extracted.program, opts).then((r) => ({
      ...r,
      extraction: extracted.method,
      codeChars: extracted.codeChars,
    }));
    memo.set(key, report);
    // Infra failures are not memoised: a retry must run again.
    report.then((r) => r.infraError && memo.delete(key)).catch(() => memo.delete(key));
    if (memo.size > MEMO_SIZE) memo.delete(memo.keys().next().value!);
  }
  return report;
}

type Partial2 = Omit<TestReport, 'extraction' | 'codeChars'>;

async function execute(task: CodeTaskData, program: string, opts: RunTestsOptions): Promise<Partial2> {
  const names = task.cases
    ? task.cases.slice(0, opts.maxCases ?? DEFAULTS.maxCases).map((_, i) => `case_${i}`)
    : (task.tests ?? []).map((_, i) => `test_${i}`);
  if (!program.trim()) {
    return summarize(
      names.map((name) => ({ name, status: 'error', error: 'no code found in the completion' })),
      { stderrTail: [], runStatus: 'not_run', durationMs: 0 },
    );
  }
  return task.cases ? runCases(task, program, opts) : runUnitTests(task, program, names, opts);
}

async function runUnitTests(
  task: CodeTaskData,
  program: string,
  names: string[],
  opts: RunTestsOptions,
): Promise<Partial2> {
  const testMs = opts.testTimeoutMs ?? DEFAULTS.testTimeoutMs;
  const solutionMs = opts.solutionTimeoutMs ?? DEFAULTS.solutionTimeoutMs;
  const spec: HarnessSpec = {
    setup: task.setup ?? '',
    tests: task.tests ?? [],
    solutionTimeoutS: solutionMs / 1000,
    testTimeoutS: testMs / 1000,
  };
  const budget = (task.setup ? 2 : 1) * solutionMs + names.length * testMs + STARTUP_MS;
  const run = await runInSandbox({
    ...opts.limits,
    language: task.language,
    code: HARNESS_PY,
    files: { 'solution.py': program, 'spec.json': JSON.stringify(spec) },
    channel: true,
    timeoutMs: Math.min(budget, opts.limits?.timeoutMs ?? DEFAULTS.wallCapMs),
    unsafe: opts.unsafe,
  });
  const base = { stderrTail: tail(run.stderr), runStatus: run.status, durationMs: run.durationMs };
  if (run.status === 'infra_error') {
    return {
      ...summarize(
        names.map((name) => ({ name, status: 'not_run' })),
        base,
      ),
      infraError: run.error ?? 'sandbox infrastructure error',
    };
  }
  const reports = parseReports(run.channel);
  const tests: TestOutcome[] = names.map((name) => ({ name, status: 'not_run' }));
  const stopped = reports.find(
    (r): r is Extract<HarnessReport, { phase: 'solution' | 'setup' }> =>
      (r.phase === 'solution' || r.phase === 'setup') && r.status !== 'ok',
  );
  if (stopped) {
    const status = stopped.status as Exclude<typeof stopped.status, 'ok'>;
    const error = `${stopped.phase} failed: ${stopped.error ?? status}`;
    return summarize(
      tests.map((t) => ({ ...t, status, error })),
      base,
    );
  }
  for (const r of reports) {
    if (r.phase === 'test' && tests[r.index])
      tests[r.index] = { name: names[r.index]!, status: r.status, error: r.error, ms: r.ms };
  }
  // The run ended before reporting every test: blame the first unreported one on how the run ended.
  const first = tests.find((t) => t.status === 'not_run');
  if (first) {
    first.status = unreportedStatus(run);
    first.error =
      run.status === 'ok'
        ? 'the program exited before this test ran'
        : (base.stderrTail.at(-1) ?? run.status);
  }
  return summarize(tests, base);
}

async function runCases(task: CodeTaskData, program: string, opts: RunTestsOptions): Promise<Partial2> {
  const cases = (task.cases ?? []).slice(0, opts.maxCases ?? DEFAULTS.maxCases);
  const testMs = opts.testTimeoutMs ?? DEFAULTS.testTimeoutMs;
  const runs = await Promise.all(
    cases.map((c) =>
      runInSandbox({
        ...opts.limits,
        language: task.language,
        code: program,
        stdin: c.input,
        timeoutMs: testMs,
        unsafe: opts.unsafe,
      }),
    ),
  );
  const tests = runs.map((run, i): TestOutcome => {
    const name = `case_${i}`;
    if (run.status === 'ok') {
      const want = normalizeOutput(cases[i]!.output);
      const got = normalizeOutput(run.stdout);
      return want === got
        ? { name, status: 'pass', ms: run.durationMs }
        : { name, status: 'fail', error: `expected ${clip(want)}, got ${clip(got)}`, ms: run.durationMs };
    }
    if (run.status === 'infra_error') return { name, status: 'not_run', error: run.error };
    return { name, status: run.status, error: tail(run.stderr).at(-1), ms: run.durationMs };
  });
  const failing = runs.find((r) => r.status !== 'ok') ?? runs[0];
  const infra = runs.find((r) => r.status === 'infra_error');
  const report = summarize(tests, {
    stderrTail: tail(failing?.stderr ?? ''),
    runStatus: failing?.status ?? 'not_run',
    durationMs: runs.reduce((a, r) => Math.max(a, r.durationMs), 0),
  });
  return infra ? { ...report, infraError: infra.error ?? 'sandbox infrastructure error' } : report;
}

/** Trailing whitespace of each line and trailing blank lines do not count (competitive-programming judges). */
export function normalizeOutput(text: string): string {
  return text
    .replace(/\r\n?/g, '\n')
    .split('\n')
    .map((l) => l.trimEnd())
    .join('\n')
    .replace(/\n+$/, '');
}

function unreportedStatus(run: SandboxResult): TestStatus {
  if (run.status === 'timeout' || run.status === 'memory' || run.status === 'output_limit') return run.status;
  return 'error';
}

function parseReports(channel: string): HarnessReport[] {
  const out: HarnessReport[] = [];
  for (const line of channel.split('\n')) {
    if (!line.trim()) continue;
    try {
      const r = JSON.parse(line) as HarnessReport;
      if (r && typeof r === 'object' && typeof r.phase === 'string') out.push(r);
    } catch {
      // a partial last line (the program was killed mid-write) carries no result
    }
  }
  return out;
}

function summarize(
  tests: TestOutcome[],
  rest: Pick<TestReport, 'stderrTail' | 'runStatus' | 'durationMs'>,
): Partial2 {
  return {
    passed: tests.filter((t) => t.status === 'pass').length,
    total: tests.length,
    tests,
    timeouts: tests.filter((t) => t.status === 'timeout').length,
    memoryHits: tests.filter((t) => t.status === 'memory').length,
    ...rest,
  };
}

function tail(stderr: string): string[] {
  return stderr
    .split('\n')
    .filter((l) => l.trim())
    .slice(-STDERR_LINES)
    .map((l) => l.slice(0, 300));
}

const clip = (s: string): string => JSON.stringify(s.length > 80 ? `${s.slice(0, 80)}…` : s);
